"""Named timers of one actor: after a delay (once or repeatedly) a message lands in its mailbox.

Time comes from the runtime's `Clock`, so tests drive timers with `ManualClock.advance`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.clock import Clock, TimerHandle


class Timers:
    """Keyed timers; starting a key again replaces it. `deliver` enqueues the message."""

    def __init__(self, clock: Clock, deliver: Callable[[Any], object]) -> None:
        self._clock = clock
        self._deliver = deliver
        self._handles: dict[str, TimerHandle] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._handles

    def start(self, key: str, delay: float, message: Any, *, repeat: bool = False) -> None:
        """Deliver `message` after `delay` seconds (and every `delay` seconds if `repeat`)."""
        self.cancel(key)

        def fire() -> None:
            if repeat:
                self._handles[key] = self._clock.call_later(delay, fire)
            else:
                del self._handles[key]
            self._deliver(message)

        self._handles[key] = self._clock.call_later(delay, fire)

    def cancel(self, key: str) -> None:
        handle = self._handles.pop(key, None)
        if handle is not None:
            handle.cancel()

    def cancel_all(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
