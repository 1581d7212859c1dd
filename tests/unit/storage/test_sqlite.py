"""SqliteStorage on disk: durability settings, reopen, SIGKILL, torn tails, foreign files.

SIGKILL cannot reveal a missing fsync (the page cache survives it), so the settings are asserted.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from raftoral.errors import StorageError
from raftoral.raft.types import ConfState, HardState, Snapshot, SnapshotMeta
from raftoral.storage import SqliteStorage
from raftoral.storage.sqlite import APPLICATION_ID, SCHEMA_VERSION
from tests.conftest import die_with_parent
from tests.unit.storage.helpers import ents

WRITER = """
import sys
from raftoral.raft.types import Entry, HardState
from raftoral.storage import SqliteStorage

store = SqliteStorage(sys.argv[1])
for batch in range(1, 1_000_000):
    entries = [Entry(batch, (batch - 1) * 10 + k, data=b"x" * 100) for k in range(1, 11)]
    store.save(HardState(batch, 1, batch * 10), entries)
    print(batch, flush=True)
"""


def _write_log(path: Path, last: int, commit: int) -> None:
    store = SqliteStorage(path)
    store.save(HardState(1, 1, commit), ents(1, last, data=b"payload"))
    store.close()


def _tamper(path: Path, sql: str) -> None:
    db = sqlite3.connect(path)
    db.execute(sql)
    db.commit()
    db.close()


def test_durability_settings(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "raft.db")
    durability = store.durability()
    assert durability.journal_mode == "wal"
    assert durability.synchronous == 2  # FULL: the WAL is fsync'd at every commit
    store.save(None, ents(1, 1), sync=False)
    assert store.durability().synchronous == 2  # restored after an unsynced save
    store.close()
    db = sqlite3.connect(tmp_path / "raft.db")
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_one_save_is_one_sync(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "raft.db")
    before = store.sync_count
    store.save(HardState(1, 1, 0), ents(1, 1000, data=b"x" * 100))
    assert store.sync_count == before + 1
    store.save(None, ents(1001, 1001), sync=False)
    assert store.sync_count == before + 1
    store.close()


def test_reopen_gives_the_same_state(tmp_path: Path) -> None:
    path = tmp_path / "raft.db"
    store = SqliteStorage(path)
    store.bootstrap(ConfState((1, 2, 3), (4,)))
    store.save(HardState(2, 1, 7), [*ents(1, 4, term=1), *ents(5, 9, term=2, data=b"d")])
    store.compact(3, data=b"state")
    store.save(None, ents(8, 10, term=3), sync=False)
    store.close()
    again = SqliteStorage(path)
    assert again.initial_state() == (HardState(2, 1, 7), ConfState((1, 2, 3), (4,)))
    assert again.snapshot() == Snapshot(SnapshotMeta(3, 1, ConfState((1, 2, 3), (4,))), b"state")
    assert again.entries(4, 11) == [*ents(4, 4), *ents(5, 7, term=2, data=b"d"), *ents(8, 10, 3)]
    assert again.recovered_truncation is None
    again.close()


def test_sigkill_keeps_every_acknowledged_batch(tmp_path: Path) -> None:
    path = tmp_path / "raft.db"
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=die_with_parent,
    )
    assert child.stdout is not None
    acknowledged = 0
    while acknowledged < 25:
        acknowledged = int(child.stdout.readline())
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    store = SqliteStorage(path)
    hard_state, _ = store.initial_state()
    assert store.last_index() >= acknowledged * 10
    assert hard_state.commit >= acknowledged * 10
    entries = store.entries(1, store.last_index() + 1)
    assert [e.index for e in entries] == list(range(1, store.last_index() + 1))
    assert all(e.term == (e.index - 1) // 10 + 1 for e in entries)
    store.close()


def test_torn_tail_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "raft.db"
    _write_log(path, last=10, commit=5)
    _tamper(path, "UPDATE entries SET data = x'00' WHERE idx = 10")
    store = SqliteStorage(path)
    assert store.last_index() == 9
    assert store.entries(1, 10) == ents(1, 9, data=b"payload")
    truncation = store.recovered_truncation
    assert truncation is not None
    assert (truncation.first_index, truncation.last_index) == (10, 10)
    assert "checksum" in truncation.reason
    store.close()
    assert SqliteStorage(path).recovered_truncation is None  # the repair was persisted


def test_gap_at_the_end_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "raft.db"
    _write_log(path, last=10, commit=5)
    _tamper(path, "DELETE FROM entries WHERE idx = 8")
    store = SqliteStorage(path)
    assert store.last_index() == 7
    truncation = store.recovered_truncation
    assert truncation is not None
    assert (truncation.first_index, truncation.last_index) == (8, 10)
    store.close()


def test_corruption_in_the_middle_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "raft.db"
    _write_log(path, last=10, commit=5)
    _tamper(path, "UPDATE entries SET crc = crc + 1 WHERE idx = 7")
    with pytest.raises(StorageError, match="middle") as caught:
        SqliteStorage(path)
    assert str(path) in str(caught.value)


def test_a_damaged_committed_entry_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "raft.db"
    _write_log(path, last=10, commit=10)
    _tamper(path, "UPDATE entries SET term = 7 WHERE idx = 10")
    with pytest.raises(StorageError, match="committed") as caught:
        SqliteStorage(path)
    assert str(path) in str(caught.value)


def test_foreign_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    _tamper(path, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    before = path.read_bytes()
    with pytest.raises(StorageError, match="not a raftoral log") as caught:
        SqliteStorage(path)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before


def test_other_application_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    _tamper(path, "PRAGMA application_id = 12345")
    with pytest.raises(StorageError, match="not a raftoral log"):
        SqliteStorage(path)


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "raft.db"
    SqliteStorage(path).close()
    _tamper(path, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError, match="schema version"):
        SqliteStorage(path)


@pytest.mark.parametrize(
    "content",
    [random.Random(1).randbytes(4096), b"SQLite format 3\x00" + random.Random(2).randbytes(4080)],
    ids=["random", "bad-pages"],
)
def test_garbage_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "raft.db"
    path.write_bytes(content)
    with pytest.raises(StorageError) as caught:
        SqliteStorage(path)
    assert str(path) in str(caught.value)


def test_missing_directory_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot open"):
        SqliteStorage(tmp_path / "nowhere" / "raft.db")
