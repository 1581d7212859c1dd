"""Deadlines of pending asks: many deadlines served by one clock timer, armed for the earliest.

Cheaper than a timer per ask (no cancel on reply): answered keys are skipped when they come due.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

from actors.clock import Clock, TimerHandle

SLACK = 0.001  # timers of the asyncio loops fire up to a millisecond early


class Deadlines:
    """A min-heap of `(deadline, key)`; `expire(key)` runs for each key that comes due."""

    def __init__(self, clock: Clock, expire: Callable[[int], None]) -> None:
        self._clock = clock
        self._expire = expire
        self._heap: list[tuple[float, int]] = []
        self._timer: TimerHandle | None = None
        self._armed_for = math.inf

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, key: int, timeout: float) -> None:
        deadline = self._clock.now() + timeout
        heapq.heappush(self._heap, (deadline, key))
        if deadline < self._armed_for:
            self._arm(deadline)

    def compact(self, live: Callable[[int], bool]) -> None:
        """Forget entries whose keys are no longer live (answered asks)."""
        self._heap = [entry for entry in self._heap if live(entry[1])]
        heapq.heapify(self._heap)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._armed_for = None, math.inf

    def _arm(self, deadline: float) -> None:
        self.cancel()
        self._armed_for = deadline
        self._timer = self._clock.call_later(deadline - self._clock.now(), self._fire)

    def _fire(self) -> None:
        self._timer, self._armed_for = None, math.inf
        now = self._clock.now() + SLACK
        heap = self._heap
        while heap and heap[0][0] <= now:
            self._expire(heapq.heappop(heap)[1])
        if heap:
            self._arm(heap[0][0])
