"""When a group compacts its log: after `snapshot_entries` applied entries or `snapshot_bytes`
of applied commands since the last snapshot, whichever comes first (a snapshot costs the whole
state, so it is taken rarely enough to be amortised over the log it replaces)."""

from __future__ import annotations

from collections.abc import Sequence

from raftoral.raft.types import Entry


class CompactionPolicy:
    """Counts what was applied since the last snapshot at `index`."""

    def __init__(self, index: int, max_entries: int, max_bytes: int) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.reset(index)

    def reset(self, index: int) -> None:
        """A snapshot at `index` now covers the log (compacted or installed)."""
        self.index, self._bytes = index, 0

    def applied(self, entries: Sequence[Entry]) -> None:
        self._bytes += sum(len(entry.data) for entry in entries)

    def due(self, applied: int) -> bool:
        return applied - self.index >= self.max_entries or (
            applied > self.index and self._bytes >= self.max_bytes
        )
