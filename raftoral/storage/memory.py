"""MemoryStorage: the in-memory LogStorage of unit tests and the simulator, with crash modelling.

Unsynced writes are visible at once, durable at the next sync; crash() drops them (page cache).
"""

from __future__ import annotations

from collections.abc import Sequence

from raftoral.errors import StorageError
from raftoral.raft.types import (
    ConfState,
    Entry,
    HardState,
    Snapshot,
    SnapshotChunk,
    StagedSnapshot,
)
from raftoral.storage.log_mirror import (
    LogMirror,
    MirroredReads,
    SavePlan,
    plan_stage,
    staged_if_newer,
)


class MemoryStorage(MirroredReads):
    """LogStorage in memory. `sync_count` counts syncs (synced saves, bootstrap, compactions,
    staged chunks). Staged snapshot chunks are durable at once (each stage is a sync)."""

    def __init__(self) -> None:
        self._mirror = LogMirror()
        self._durable = LogMirror()
        self._unsynced: list[SavePlan] = []
        self._staged: StagedSnapshot | None = None
        self._staged_data = bytearray()
        self.sync_count = 0

    def save(
        self,
        hard_state: HardState | None,
        entries: Sequence[Entry],
        snapshot: Snapshot | None = None,
        *,
        sync: bool = True,
    ) -> None:
        """Store atomically (visible at once); with `sync`, everything so far becomes durable."""
        plan = self._mirror.plan_save(hard_state, entries, snapshot, self.staged_snapshot())
        if plan.install_staged:
            plan = plan.with_snapshot_data(bytes(self._staged_data))
        self._mirror.apply(plan)
        self._unsynced.append(plan)
        if sync:
            self._sync()

    def snapshot(self) -> Snapshot:
        return self._mirror.snap

    def snapshot_chunk(self, offset: int, length: int) -> bytes:
        return self._mirror.snap.data[offset : offset + length]

    def staged_snapshot(self) -> StagedSnapshot | None:
        return staged_if_newer(self._staged, self._mirror.snap.meta.index)

    def stage_snapshot_chunk(self, chunk: SnapshotChunk) -> None:
        staged, fresh = plan_stage(self._staged, chunk, self._mirror.snap.meta.index)
        if fresh:
            self._staged_data = bytearray()
        self._staged_data += chunk.data
        self._staged = staged
        self.sync_count += 1

    def bootstrap(self, conf: ConfState) -> None:
        """Record the initial configuration (durably) in a storage that holds nothing yet."""
        if not self._mirror.is_empty():
            raise StorageError("this storage already holds Raft state; bootstrap only a new one")
        mirror = self._mirror.copy()
        mirror.bootstrap(conf)
        self._sync()
        self._mirror, self._durable = mirror, mirror.copy()

    def compact(self, index: int, data: bytes = b"", conf: ConfState | None = None) -> None:
        """Drop entries up to `index` (durably), keeping its term as the snapshot's."""
        self.save(None, (), self._mirror.snapshot_at(index, data, conf))

    def crash(self) -> None:
        """Forget every write not yet synced: the storage is again as it was at the last sync."""
        self._mirror = self._durable.copy()
        self._unsynced.clear()

    def close(self) -> None:
        """Nothing to release."""

    def _sync(self) -> None:
        for plan in self._unsynced:
            self._durable.apply(plan)
        self._unsynced.clear()
        if staged_if_newer(self._staged, self._durable.snap.meta.index) is None:
            self._staged, self._staged_data = None, bytearray()
        self.sync_count += 1
