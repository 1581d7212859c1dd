"""Snapshot chunks on both storages: reading the latest snapshot by chunks, staging a received one
(resumable, durable), installing it over the log; SQLite keeps the bytes on disk in pieces."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from raftoral.errors import StorageError
from raftoral.raft.types import ConfState, HardState, Snapshot, SnapshotChunk, SnapshotMeta
from raftoral.storage import MemoryStorage, SqliteStorage
from raftoral.storage.sqlite import SCHEMA_VERSION
from tests.unit.storage.helpers import Storage, ents

META = SnapshotMeta(10, 2, ConfState(voters=(1, 2, 3)))
DATA = bytes(range(256)) * 20  # 5120 bytes


def stage_all(storage: Storage, data: bytes = DATA, size: int = 1000, source: int = 1) -> None:
    for off in range(0, len(data), size):
        storage.stage_snapshot_chunk(SnapshotChunk(META, source, off, data[off : off + size]))


@pytest.mark.parametrize(("offset", "length"), [(0, 100), (900, 300), (5000, 500), (6000, 10)])
def test_snapshot_chunk_reads_a_slice(storage: Storage, offset: int, length: int) -> None:
    storage.save(None, ents(1, 10, term=2))
    storage.compact(10, DATA)
    assert storage.snapshot_chunk(offset, length) == DATA[offset : offset + length]
    assert storage.snapshot_meta().index == 10


def test_stage_then_install_replaces_the_log(storage: Storage) -> None:
    storage.save(HardState(2, 1, 3), ents(1, 5, term=1))
    stage_all(storage)
    staged = storage.staged_snapshot()
    assert staged is not None and (staged.meta, staged.source, staged.size) == (META, 1, len(DATA))
    storage.save(HardState(2, 1, 10), (), Snapshot(META))
    assert storage.snapshot() == Snapshot(META, DATA)
    assert (storage.first_index(), storage.last_index()) == (11, 10)
    assert storage.initial_state() == (HardState(2, 1, 10), META.conf)
    assert storage.staged_snapshot() is None
    assert storage.snapshot_chunk(1000, 1000) == DATA[1000:2000]


def test_staging_must_continue_at_its_size(storage: Storage) -> None:
    storage.stage_snapshot_chunk(SnapshotChunk(META, 1, 0, b"abc"))
    with pytest.raises(ValueError, match="gap"):
        storage.stage_snapshot_chunk(SnapshotChunk(META, 1, 5, b"x"))
    with pytest.raises(ValueError, match="offset 0"):
        storage.stage_snapshot_chunk(SnapshotChunk(META, 2, 3, b"x"))
    storage.stage_snapshot_chunk(SnapshotChunk(META, 2, 0, b"new"))  # another source: restart
    staged = storage.staged_snapshot()
    assert staged is not None and (staged.source, staged.size) == (2, 3)
    storage.save(None, (), Snapshot(META))
    assert storage.snapshot().data == b"new"


def test_staging_older_than_the_snapshot_is_refused(storage: Storage) -> None:
    storage.save(None, ents(1, 12, term=2))
    storage.compact(12, b"mine")
    with pytest.raises(ValueError, match="not newer"):
        storage.stage_snapshot_chunk(SnapshotChunk(META, 1, 0, b"old"))


def test_a_snapshot_with_data_ignores_the_staging(storage: Storage) -> None:
    stage_all(storage)
    storage.save(None, (), Snapshot(META, b"given"))
    assert storage.snapshot().data == b"given"


def test_memory_staging_survives_a_crash_unlike_an_unsynced_install() -> None:
    storage = MemoryStorage()
    stage_all(storage)
    storage.save(None, (), Snapshot(META), sync=False)
    storage.crash()
    assert storage.snapshot().meta.index == 0
    staged = storage.staged_snapshot()
    assert staged is not None and staged.size == len(DATA)
    storage.save(None, (), Snapshot(META))
    storage.crash()
    assert storage.snapshot() == Snapshot(META, DATA)


def test_sqlite_staging_and_install_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "raft.db"
    store = SqliteStorage(path)
    syncs = store.sync_count
    stage_all(store, DATA[:3000])
    assert store.sync_count == syncs + 3  # every staged chunk is durable before it is acked
    store.close()
    store = SqliteStorage(path)
    staged = store.staged_snapshot()
    assert staged is not None and staged.size == 3000
    store.stage_snapshot_chunk(SnapshotChunk(META, 1, 3000, DATA[3000:]))
    store.save(HardState(2, 0, 10), (), Snapshot(META))
    store.close()
    store = SqliteStorage(path)
    assert store.snapshot() == Snapshot(META, DATA)
    assert store.staged_snapshot() is None
    store.close()


def test_sqlite_keeps_snapshot_bytes_on_disk_in_pieces(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "raft.db")
    store.save(None, ents(1, 10, term=2))
    big = b"z" * (3 << 20)
    store.compact(10, big)
    assert store._mirror.snap.data == b""  # the mirror holds the meta only
    db = sqlite3.connect(tmp_path / "raft.db")
    pieces = db.execute("SELECT length(data) FROM snapshot_data WHERE slot = 0").fetchall()
    assert max(p[0] for p in pieces) <= 1 << 20 and sum(p[0] for p in pieces) == len(big)
    assert store.snapshot_chunk((1 << 20) - 5, 10) == b"z" * 10
    store.close()


def test_sqlite_compaction_writes_the_snapshot_and_drops_the_log_in_one_sync(
    tmp_path: Path,
) -> None:
    store = SqliteStorage(tmp_path / "raft.db")
    store.save(None, ents(1, 10, term=2))
    syncs = store.sync_count
    store.compact(8, DATA)
    assert store.sync_count == syncs + 1
    store.close()
    store = SqliteStorage(tmp_path / "raft.db")
    assert store.first_index() == 9 and store.snapshot().data == DATA
    store.close()


def test_sqlite_refuses_an_older_schema(tmp_path: Path) -> None:
    path = tmp_path / "raft.db"
    SqliteStorage(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    db.commit()
    db.close()
    with pytest.raises(StorageError, match=r"older pre-release raftoral.*new data dir"):
        SqliteStorage(path)
