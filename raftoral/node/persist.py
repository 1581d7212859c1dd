"""Persistence of a Raft group off the event loop: one writer thread owns every storage write,
and a lock keeps the loop's reads of the storage (the core's) from seeing a write half done."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

from raftoral.raft.types import (
    ConfState,
    Entry,
    HardState,
    Ready,
    Snapshot,
    SnapshotChunk,
    SnapshotMeta,
    StagedSnapshot,
)

T = TypeVar("T")


class WritableStorage(Protocol):
    """LogStorage plus the writes the node uses (SqliteStorage and MemoryStorage)."""

    def initial_state(self) -> tuple[HardState, ConfState]: ...
    def first_index(self) -> int: ...
    def last_index(self) -> int: ...
    def term(self, index: int) -> int: ...
    def entries(self, lo: int, hi: int, max_bytes: int | None = None) -> list[Entry]: ...
    def snapshot(self) -> Snapshot: ...
    def snapshot_meta(self) -> SnapshotMeta: ...
    def snapshot_chunk(self, offset: int, length: int) -> bytes: ...
    def staged_snapshot(self) -> StagedSnapshot | None: ...
    def stage_snapshot_chunk(self, chunk: SnapshotChunk) -> None: ...
    def save(
        self,
        hard_state: HardState | None,
        entries: Sequence[Entry],
        snapshot: Snapshot | None = None,
        *,
        sync: bool = True,
    ) -> None: ...
    def bootstrap(self, conf: ConfState) -> None: ...
    def compact(self, index: int, data: bytes = b"", conf: ConfState | None = None) -> None: ...
    def close(self) -> None: ...


class LockedStorage:
    """Every call under one lock: the writer thread holds it for a whole write (SQL and the
    in-memory mirror), the loop thread for each read."""

    def __init__(self, inner: WritableStorage) -> None:
        self.inner = inner
        self.lock = threading.Lock()

    def _locked(self, call: Callable[[], T]) -> T:
        with self.lock:
            return call()

    def initial_state(self) -> tuple[HardState, ConfState]:
        return self._locked(self.inner.initial_state)

    def first_index(self) -> int:
        return self._locked(self.inner.first_index)

    def last_index(self) -> int:
        return self._locked(self.inner.last_index)

    def term(self, index: int) -> int:
        return self._locked(lambda: self.inner.term(index))

    def entries(self, lo: int, hi: int, max_bytes: int | None = None) -> list[Entry]:
        return self._locked(lambda: self.inner.entries(lo, hi, max_bytes))

    def snapshot(self) -> Snapshot:
        return self._locked(self.inner.snapshot)

    def snapshot_meta(self) -> SnapshotMeta:
        return self._locked(self.inner.snapshot_meta)

    def snapshot_chunk(self, offset: int, length: int) -> bytes:
        return self._locked(lambda: self.inner.snapshot_chunk(offset, length))

    def staged_snapshot(self) -> StagedSnapshot | None:
        return self._locked(self.inner.staged_snapshot)

    def stage_snapshot_chunk(self, chunk: SnapshotChunk) -> None:
        self._locked(lambda: self.inner.stage_snapshot_chunk(chunk))

    def save(
        self,
        hard_state: HardState | None,
        entries: Sequence[Entry],
        snapshot: Snapshot | None = None,
        *,
        sync: bool = True,
    ) -> None:
        self._locked(lambda: self.inner.save(hard_state, entries, snapshot, sync=sync))

    def bootstrap(self, conf: ConfState) -> None:
        self._locked(lambda: self.inner.bootstrap(conf))

    def compact(self, index: int, data: bytes = b"", conf: ConfState | None = None) -> None:
        self._locked(lambda: self.inner.compact(index, data, conf))

    def close(self) -> None:
        self._locked(self.inner.close)


def needs_write(rd: Ready) -> bool:
    return bool(rd.snapshot_chunks or rd.entries or rd.snapshot) or rd.hard_state is not None


def write_ready(storage: LockedStorage, rd: Ready) -> None:
    """Steps 2-3 of the Ready contract, on the writer thread: stage chunks, then one save."""
    for chunk in rd.snapshot_chunks:
        storage.stage_snapshot_chunk(chunk)
    if rd.snapshot is not None or rd.entries or rd.hard_state is not None:
        storage.save(rd.hard_state, rd.entries, rd.snapshot, sync=rd.must_sync)


class Writer:
    """The one thread that writes a group's storage; jobs run in submission order."""

    def __init__(self, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def run(self, job: Callable[[], T]) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._pool, job)

    def close(self) -> None:
        """Wait for the jobs already submitted, then stop the thread."""
        self._pool.shutdown(wait=True)
