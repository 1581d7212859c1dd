"""The event trace of one simulation: a running digest, the recent events and an optional sink.

Two runs of the same seed must produce the same digest; a failure report shows the recent events.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable

Sink = Callable[[str], None]


class Trace:
    """Records every processed event as one line `time label`."""

    def __init__(self, keep: int = 30, sink: Sink | None = None) -> None:
        self._hash = hashlib.blake2b(digest_size=16)
        self.recent: deque[str] = deque(maxlen=keep)
        self.count = 0
        self._sink = sink

    def record(self, time: int, label: str) -> None:
        line = f"{time:>8} {label}"
        self._hash.update(line.encode())
        self._hash.update(b"\n")
        self.recent.append(line)
        self.count += 1
        if self._sink is not None:
            self._sink(line)

    def digest(self) -> str:
        return self._hash.hexdigest()
