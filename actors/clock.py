"""Time for actors and the bus: a `Clock` protocol, the real asyncio clock and a manual clock.

Timers, ask deadlines and restart backoff all go through a Clock, so tests advance time explicitly.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import Protocol


class TimerHandle(Protocol):
    """What `Clock.call_later` returns: something that can be cancelled."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """Monotonic seconds and callbacks scheduled after a delay."""

    def now(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle: ...


class AsyncioClock:
    """The running event loop's clock (`loop.time`, `loop.call_later`)."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(delay, callback)


class _ManualTimer:
    def __init__(self, deadline: float, callback: Callable[[], None]) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A virtual clock that only moves when a test calls `advance`; due callbacks run in order."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._heap: list[tuple[float, int, _ManualTimer]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        timer = _ManualTimer(self._now + max(delay, 0.0), callback)
        heapq.heappush(self._heap, (timer.deadline, next(self._seq), timer))
        return timer

    @property
    def pending(self) -> int:
        """How many scheduled callbacks are neither run nor cancelled."""
        return sum(1 for _, _, timer in self._heap if not timer.cancelled)

    def advance(self, seconds: float) -> int:
        """Move time forward, running every callback due by then; returns how many ran."""
        target = self._now + seconds
        ran = 0
        while self._heap and self._heap[0][0] <= target:
            deadline, _, timer = heapq.heappop(self._heap)
            self._now = max(self._now, deadline)
            if not timer.cancelled:
                timer.callback()
                ran += 1
        self._now = target
        return ran


async def sleep(clock: Clock, delay: float) -> None:
    """Sleep `delay` seconds of `clock` time (returns at once for a delay <= 0)."""
    if delay <= 0:
        return
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake() -> None:
        if not future.done():
            future.set_result(None)

    handle = clock.call_later(delay, wake)
    try:
        await future
    finally:
        handle.cancel()
