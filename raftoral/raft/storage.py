"""The interface the Raft core reads its stable log through (implemented in raftoral.storage).

The core only reads; the driver writes what a Ready asks for with `save`, then calls advance().
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from raftoral.raft.types import ConfState, Entry, HardState, Snapshot


class LogStorage(Protocol):
    """Stable storage of one Raft group: hard state, the log after the snapshot, the snapshot.

    Indexes: the snapshot covers everything up to `snapshot().meta.index`; entries kept are
    `first_index() .. last_index()` with first_index() == snapshot index + 1. An empty log has
    last_index() == first_index() - 1. `term(snapshot index)` is the snapshot's term.
    """

    def initial_state(self) -> tuple[HardState, ConfState]:
        """Hard state and the configuration of the latest snapshot (or the bootstrap one)."""
        ...

    def first_index(self) -> int: ...

    def last_index(self) -> int: ...

    def term(self, index: int) -> int:
        """Term of the entry at `index`; raises CompactedError / UnavailableError outside it."""
        ...

    def entries(self, lo: int, hi: int, max_bytes: int | None = None) -> list[Entry]:
        """Entries [lo, hi). With max_bytes, stops before exceeding it but returns at least one."""
        ...

    def snapshot(self) -> Snapshot: ...

    def save(
        self,
        hard_state: HardState | None,
        entries: Sequence[Entry],
        snapshot: Snapshot | None = None,
        *,
        sync: bool = True,
    ) -> None:
        """Persist atomically: the snapshot (dropping the log it covers), then the entries
        (truncating stored entries at or after entries[0].index first), then the hard state.
        Durable on return when `sync` (one fsync for the whole call)."""
        ...

    def close(self) -> None: ...
