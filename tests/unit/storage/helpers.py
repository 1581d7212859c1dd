"""Builders shared by the storage tests.

`ents` makes a run of entries, `snap` a snapshot; `Storage` is either implementation.
"""

from __future__ import annotations

from raftoral.raft.types import ConfState, Entry, Snapshot, SnapshotMeta
from raftoral.storage import MemoryStorage, SqliteStorage

Storage = MemoryStorage | SqliteStorage


def ents(lo: int, hi: int, term: int = 1, data: bytes = b"") -> list[Entry]:
    """Entries lo..hi (inclusive), all of one term."""
    return [Entry(term, i, data=data) for i in range(lo, hi + 1)]


def snap(index: int, term: int, voters: tuple[int, ...] = (1, 2, 3), data: bytes = b"") -> Snapshot:
    return Snapshot(SnapshotMeta(index, term, ConfState(voters)), data)
