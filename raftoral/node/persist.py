"""Persistence of a Raft group off the event loop: the one writer thread that makes prepared
storage batches durable, and which Readies need it (a commit-index-only Ready does not)."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

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
from raftoral.storage.log_mirror import WriteBatch

Done = Callable[[BaseException | None], None]


class WritableStorage(Protocol):
    """LogStorage plus the batched writes the node uses (SqliteStorage and MemoryStorage):
    prepare() and apply() on the event loop, write() on the writer thread."""

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
    def prepare(
        self,
        chunks: Sequence[SnapshotChunk] = (),
        hard_state: HardState | None = None,
        entries: Sequence[Entry] = (),
        snapshot: Snapshot | None = None,
        *,
        sync: bool = True,
    ) -> WriteBatch: ...
    def prepare_compact(
        self, index: int, data: bytes = b"", conf: ConfState | None = None
    ) -> WriteBatch: ...
    def write(self, batch: WriteBatch) -> None: ...
    def apply(self, batch: WriteBatch) -> None: ...
    def discard(self, batch: WriteBatch) -> None: ...
    def bootstrap(self, conf: ConfState) -> None: ...
    def close(self) -> None: ...


def needs_write(rd: Ready) -> bool:
    """Whether `rd` must be written before its steps 4-7. Not a Ready whose only durable change
    is the commit index (must_sync False): its committed entries are already stable here, and a
    commit index lost in a crash is learned again from the leader (etcd applies committed
    entries in parallel with persisting the hard state the same way)."""
    return bool(rd.snapshot_chunks or rd.entries or rd.snapshot) or rd.must_sync


def prepare_ready(storage: WritableStorage, rd: Ready, hard_state: HardState | None) -> WriteBatch:
    """Steps 2-3 of the Ready contract as one batch; `hard_state` is the latest one (it may carry
    a commit index of an earlier commit-only Ready)."""
    return storage.prepare(
        rd.snapshot_chunks, hard_state, rd.entries, rd.snapshot, sync=rd.must_sync
    )


class Writer:
    """The one thread that writes a node's storage: jobs run in submission order, and each
    reports its outcome on the submitting event loop (call_soon_threadsafe), not through a
    future or a mailbox."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[
            tuple[Callable[[], None], Done, asyncio.AbstractEventLoop] | None
        ] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None], done: Done) -> None:
        """Run `job` on the writer thread, then `done(error or None)` on the running loop."""
        self._jobs.put((job, done, asyncio.get_running_loop()))

    def close(self) -> None:
        """Wait for the jobs already submitted, then stop the thread."""
        self._jobs.put(None)
        self._thread.join()

    def _serve(self) -> None:
        while (item := self._jobs.get()) is not None:
            job, done, loop = item
            error: BaseException | None = None
            try:
                job()
            except BaseException as exc:  # reported to the submitter, which stops its group
                error = exc
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(done, error)
