"""The restart policy of supervised actors: how often an actor may restart, and how long to wait.

Pure bookkeeping over clock readings; the actor cell applies it when a handler raises.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    """At most `max_restarts` restarts within `window` seconds, else the actor is stopped.

    The first restart in a window is immediate; the n-th waits `backoff * 2**(n-2)` seconds,
    capped at `max_backoff`.
    """

    max_restarts: int = 10
    window: float = 60.0
    backoff: float = 0.05
    max_backoff: float = 2.0


class RestartTracker:
    """Remembers recent restarts of one actor and decides the delay before the next one."""

    def __init__(self, policy: RestartPolicy) -> None:
        self.policy = policy
        self._times: deque[float] = deque()

    def next_delay(self, now: float) -> float | None:
        """Record a restart at `now`; return the delay before it, or None to give up."""
        while self._times and self._times[0] <= now - self.policy.window:
            self._times.popleft()
        self._times.append(now)
        count = len(self._times)
        if count > self.policy.max_restarts:
            return None
        if count == 1:
            return 0.0
        return min(self.policy.backoff * 2.0 ** (count - 2), self.policy.max_backoff)
