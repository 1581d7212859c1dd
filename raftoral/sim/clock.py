"""Virtual time of the simulator: an integer-millisecond clock and its event queue.

Events run in (time, seq) order, so events at the same time keep their scheduling order.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

Action = Callable[[], None]


@dataclass(order=True)
class Event:
    """One scheduled action; `label` names it in the trace."""

    time: int
    seq: int
    label: str = field(compare=False)
    action: Action = field(compare=False)


class EventQueue:
    """A min-heap of events keyed by (time, seq); `now` is the time of the last popped event."""

    def __init__(self) -> None:
        self._heap: list[Event] = []
        self._seq = 0
        self.now = 0

    def schedule(self, delay: int, label: str, action: Action) -> None:
        """Run `action` `delay` virtual milliseconds from now (delay >= 0)."""
        self._seq += 1
        heapq.heappush(self._heap, Event(self.now + max(0, delay), self._seq, label, action))

    def pop(self) -> Event | None:
        """Remove the next event, advance `now` to its time and return it (None when empty)."""
        if not self._heap:
            return None
        event = heapq.heappop(self._heap)
        self.now = event.time
        return event
