"""MemoryStorage: the in-memory LogStorage of unit tests and the simulator, with crash modelling.

Unsynced writes are visible at once, durable at the next sync; crash() drops them (page cache).
"""

from __future__ import annotations

from raftoral.errors import StorageError
from raftoral.raft.types import ConfState, Snapshot, StagedSnapshot
from raftoral.storage.log_mirror import (
    LogMirror,
    MirroredReads,
    SavePlan,
    WriteBatch,
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

    def write(self, batch: WriteBatch) -> None:
        """Nothing to do off the reading thread: apply() stores (memory is the medium)."""

    def apply(self, batch: WriteBatch) -> None:
        """Store atomically (visible at once); when synced, everything so far becomes durable."""
        for stage in batch.stages:
            if stage.fresh:
                self._staged_data = bytearray()
            self._staged_data += stage.chunk.data
            self._staged = stage.staged
            self.sync_count += 1
        plan = batch.plan
        if plan is None:
            return
        if plan.install_staged:
            plan = plan.with_snapshot_data(bytes(self._staged_data))
        self._mirror.apply(plan)
        self._unsynced.append(plan)
        if batch.sync:
            self._sync()

    def snapshot(self) -> Snapshot:
        return self._mirror.snap

    def snapshot_chunk(self, offset: int, length: int) -> bytes:
        return self._mirror.snap.data[offset : offset + length]

    def bootstrap(self, conf: ConfState) -> None:
        """Record the initial configuration (durably) in a storage that holds nothing yet."""
        if not self._mirror.is_empty():
            raise StorageError("this storage already holds Raft state; bootstrap only a new one")
        mirror = self._mirror.copy()
        mirror.bootstrap(conf)
        self._sync()
        self._mirror, self._durable = mirror, mirror.copy()

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
