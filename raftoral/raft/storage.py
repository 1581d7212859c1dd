"""The interface the Raft core reads its stable log through (implemented in raftoral.storage).

The core only reads; the driver writes what a Ready asks for with `save`, then calls advance().
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from raftoral.raft.types import (
    ConfState,
    Entry,
    HardState,
    Snapshot,
    SnapshotChunk,
    SnapshotMeta,
    StagedSnapshot,
)


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

    def snapshot(self) -> Snapshot:
        """The latest snapshot with all its data (the driver restores its state machine from it)."""
        ...

    def snapshot_meta(self) -> SnapshotMeta:
        """The latest snapshot's meta, without reading its data."""
        ...

    def snapshot_chunk(self, offset: int, length: int) -> bytes:
        """Up to `length` bytes of the latest snapshot's data from `offset` (b"" past the end);
        memory is bounded by `length`, not by the snapshot's size."""
        ...

    def staged_snapshot(self) -> StagedSnapshot | None:
        """The snapshot being received and its durably staged size; None when nothing newer than
        the latest snapshot is staged."""
        ...

    def stage_snapshot_chunk(self, chunk: SnapshotChunk) -> None:
        """Stage one received chunk, durable on return. It must continue the staged snapshot of
        the same (meta, source) at its size, or start another at offset 0 (replacing it).
        A later save(snapshot=...) with that meta and empty data installs the staged bytes."""
        ...

    def save(
        self,
        hard_state: HardState | None,
        entries: Sequence[Entry],
        snapshot: Snapshot | None = None,
        *,
        sync: bool = True,
    ) -> None:
        """Persist atomically: the snapshot (dropping the log it covers; with empty data and a
        staged snapshot of the same meta, the staged bytes become its data), then the entries
        (truncating stored entries at or after entries[0].index first), then the hard state.
        Durable on return when `sync` (one fsync for the whole call)."""
        ...

    def close(self) -> None: ...
