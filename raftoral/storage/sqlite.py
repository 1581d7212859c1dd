"""SqliteStorage: the durable LogStorage in one SQLite file (WAL, synchronous=FULL, CRC per entry).

Each write is one transaction (one fsync); log reads come from an in-memory mirror loaded at open,
snapshot bytes stay on disk in pieces (read, through a second connection, and staged by chunk).
"""

from __future__ import annotations

import os
import sqlite3
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from raftoral.errors import StorageError
from raftoral.raft.types import (
    ConfState,
    Entry,
    EntryKind,
    HardState,
    Snapshot,
    SnapshotChunk,
    SnapshotMeta,
    StagedSnapshot,
)
from raftoral.storage.log_mirror import LogMirror, MirroredReads, SavePlan, WriteBatch

APPLICATION_ID = 0x5246544C  # "RFTL" in the SQLite header: this file is a raftoral log
SCHEMA_VERSION = 2  # 2: snapshot data in pieces (snapshot_data), staging of received snapshots
_PIECE = 1 << 20  # bytes per snapshot_data row written by compact()
_INSTALLED, _STAGED = 0, 1  # snapshot_data slots
_SQLITE_MAGIC = b"SQLite format 3\x00"
_ENTRY_HEADER = struct.Struct(">qqB")
_SCHEMA = (
    "CREATE TABLE entries (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL,"
    " kind INTEGER NOT NULL, data BLOB NOT NULL, crc INTEGER NOT NULL)",
    "CREATE TABLE hard_state (id INTEGER PRIMARY KEY CHECK (id = 1), term INTEGER NOT NULL,"
    " vote INTEGER NOT NULL, commit_index INTEGER NOT NULL)",
    "CREATE TABLE snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), idx INTEGER NOT NULL,"
    " term INTEGER NOT NULL, conf BLOB NOT NULL)",
    "CREATE TABLE snapshot_data (slot INTEGER NOT NULL, off INTEGER NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY (slot, off))",
    "CREATE TABLE staging (id INTEGER PRIMARY KEY CHECK (id = 1), idx INTEGER NOT NULL,"
    " term INTEGER NOT NULL, conf BLOB NOT NULL, source INTEGER NOT NULL, size INTEGER NOT NULL)",
    "INSERT INTO hard_state VALUES (1, 0, 0, 0)",
    "INSERT INTO snapshot VALUES (1, 0, 0, x'')",
    "INSERT INTO staging VALUES (1, 0, 0, x'', 0, 0)",
    f"PRAGMA application_id = {APPLICATION_ID}",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)
_READ_HARD_STATE = "SELECT term, vote, commit_index FROM hard_state"
_READ_PIECES = (
    "SELECT off, data FROM snapshot_data WHERE slot = 0 AND off < ? AND off >="
    " coalesce((SELECT max(off) FROM snapshot_data WHERE slot = 0 AND off <= ?), 0) ORDER BY off"
)
_Row = tuple[int, int, int, bytes, int]  # idx, term, kind, data, crc


@dataclass(frozen=True, slots=True)
class TailTruncation:
    """Entries dropped at open because the end of the log was torn or corrupt."""

    first_index: int
    last_index: int
    reason: str


@dataclass(frozen=True, slots=True)
class Durability:
    """The connection's durability settings, as SQLite reports them."""

    journal_mode: str
    synchronous: int  # 2 is FULL


def entry_crc(term: int, index: int, kind: int, data: bytes) -> int:
    """CRC32 of an entry's term, index, kind and data, stored beside it and checked at open."""
    return zlib.crc32(data, zlib.crc32(_ENTRY_HEADER.pack(term, index, kind)))


class SqliteStorage(MirroredReads):
    """LogStorage in a SQLite file. `sync_count` counts fsync'd (synced) transactions.

    Writes are prepare() and apply() on the reading thread (the event loop), write() between
    them on one writer thread; the mirror changes only in apply(), after the transaction
    committed, so reads never see what is not on disk and need no lock. save(), compact() and
    stage_snapshot_chunk() do all three in the caller's thread.
    `recovered_truncation` says what a torn tail found at open cost (None if nothing).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.sync_count = 0
        self._conn = self._connect()
        try:
            self._mirror, self.recovered_truncation = self._load()
            self._staged = _read_staging(self._conn)
            self._reader = self._open_reader()
        except BaseException:
            self._conn.close()
            raise

    # -- writes --------------------------------------------------------------------------------

    def write(self, batch: WriteBatch) -> None:
        """Make a prepared batch durable in one transaction (on the writer thread); reads show
        it once apply() runs."""
        plan = batch.plan

        def write(db: sqlite3.Connection) -> None:
            for stage in batch.stages:
                _write_stage(db, stage.staged, stage.chunk, stage.fresh)
            if plan is not None:
                _write_plan(db, plan)

        self._transaction(write, batch.sync)

    def apply(self, batch: WriteBatch) -> None:
        """Show a written batch to reads (on the reading thread)."""
        if batch.stages:
            self._staged = batch.stages[-1].staged
        plan = batch.plan
        if plan is not None:
            self._mirror.apply(plan.with_snapshot_data(b""))
            if plan.install_staged:
                self._staged = None
        self._unpin()

    def discard(self, batch: WriteBatch) -> None:
        self._unpin()

    def prepare(
        self,
        chunks: Sequence[SnapshotChunk] = (),
        hard_state: HardState | None = None,
        entries: Sequence[Entry] = (),
        snapshot: Snapshot | None = None,
        *,
        sync: bool = True,
    ) -> WriteBatch:
        """As MirroredReads.prepare; a batch that replaces the snapshot pins the reads of its
        bytes to the old one until apply() (they must match the mirror's meta)."""
        batch = super().prepare(chunks, hard_state, entries, snapshot, sync=sync)
        if batch.plan is not None and batch.plan.snapshot is not None:
            self._pin()
        return batch

    def snapshot(self) -> Snapshot:
        """The latest snapshot, its data read whole from disk."""
        rows = self._reader.execute(
            "SELECT data FROM snapshot_data WHERE slot = 0 ORDER BY off"
        ).fetchall()
        return Snapshot(self._mirror.snap.meta, b"".join(row[0] for row in rows))

    def snapshot_chunk(self, offset: int, length: int) -> bytes:
        """Bytes [offset, offset + length) of the snapshot, reading only the pieces they span."""
        rows = self._reader.execute(_READ_PIECES, (offset + length, offset)).fetchall()
        if not rows:
            return b""
        joined = b"".join(row[1] for row in rows)
        start = offset - rows[0][0]
        return joined[start : start + length]

    def bootstrap(self, conf: ConfState) -> None:
        """Record the initial configuration in a storage that holds nothing yet."""
        if not self._mirror.is_empty():
            raise self._error("already holds Raft state; bootstrap only a new data dir")
        mirror = self._mirror.copy()
        mirror.bootstrap(conf)
        self._transaction(lambda db: _write_snapshot(db, mirror.snap), sync=True)
        self._mirror = mirror

    def durability(self) -> Durability:
        """The journal mode and synchronous level in force (for tests and diagnostics)."""
        journal_mode = self._conn.execute("PRAGMA journal_mode").fetchone()[0]
        synchronous = self._conn.execute("PRAGMA synchronous").fetchone()[0]
        return Durability(journal_mode, synchronous)

    def close(self) -> None:
        self._reader.close()
        self._conn.close()

    def _pin(self) -> None:
        """Hold a read transaction on the reader connection: it keeps seeing the database as it
        is now (WAL), whatever the writer commits meanwhile."""
        if not self._reader.in_transaction:
            self._reader.execute("BEGIN")
            self._reader.execute("SELECT idx FROM snapshot").fetchone()

    def _unpin(self) -> None:
        if self._reader.in_transaction:
            self._reader.execute("COMMIT")

    def _transaction(self, write: Callable[[sqlite3.Connection], None], sync: bool) -> None:
        """Run `write` in one transaction; without `sync` the commit skips its fsync (WAL)."""
        db = self._conn
        try:
            if not sync:
                db.execute("PRAGMA synchronous = NORMAL")
            db.execute("BEGIN IMMEDIATE")
            write(db)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise self._error(f"cannot write ({exc}); check the disk and free space") from exc
        finally:
            if not sync:
                db.execute("PRAGMA synchronous = FULL")
        if sync:
            self.sync_count += 1

    # -- open ----------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        _check_header(self.path)
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._error(f"cannot open ({exc}); check the path and its permissions") from exc
        try:
            self._prepare(db)
        except BaseException:
            db.close()
            raise
        return db

    def _open_reader(self) -> sqlite3.Connection:
        """The connection that reads snapshot bytes on the reading thread (the writer thread
        owns `_conn`); it sees committed data only."""
        try:
            return sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._error(f"cannot open ({exc}); check the path and its permissions") from exc

    def _prepare(self, db: sqlite3.Connection) -> None:
        """Check the file is ours (or new), then set the durability pragmas and the schema."""
        try:
            is_new = self._check_identity(db)
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            db.execute("PRAGMA synchronous = FULL")
            if is_new:
                db.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute("COMMIT")
                self.sync_count += 1
        except sqlite3.DatabaseError as exc:
            raise self._error(f"is unreadable ({exc}); restore it or use a new data dir") from exc
        if mode != "wal":
            raise self._error(f"cannot use WAL mode (got {mode!r}); put it on a local disk")

    def _check_identity(self, db: sqlite3.Connection) -> bool:
        """True for a new (empty) file; raises StorageError for a foreign file or another schema."""
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
        if app_id == 0 and tables == 0:
            return True
        if app_id != APPLICATION_ID:
            raise self._error("is not a raftoral log (foreign SQLite file); use a new data dir")
        if version < SCHEMA_VERSION:
            raise self._error(
                f"has schema version {version} of an older pre-release raftoral, which this one"
                f" (schema {SCHEMA_VERSION}) does not migrate; start the node with a new data dir"
            )
        if version != SCHEMA_VERSION:
            raise self._error(
                f"has schema version {version}, this raftoral reads {SCHEMA_VERSION};"
                " run the raftoral version that wrote it"
            )
        return False

    def _load(self) -> tuple[LogMirror, TailTruncation | None]:
        try:
            hard_state = HardState(*self._conn.execute(_READ_HARD_STATE).fetchone())
            snap = _read_snapshot(self._conn)
            rows = self._conn.execute(
                "SELECT idx, term, kind, data, crc FROM entries WHERE idx > ? ORDER BY idx",
                (snap.meta.index,),
            ).fetchall()
        except (sqlite3.DatabaseError, msgspec.DecodeError, TypeError) as exc:
            raise self._error(f"is corrupt ({exc}); restore it or use a new data dir") from exc
        entries, truncation = self._verify(rows, snap.meta.index, hard_state.commit)
        if truncation is not None:
            self._transaction(lambda db: _delete_from(db, truncation.first_index), sync=True)
        return LogMirror(hard_state, snap, entries), truncation

    def _verify(
        self, rows: list[_Row], offset: int, commit: int
    ) -> tuple[list[Entry], TailTruncation | None]:
        """The entries of the valid prefix, and the torn tail to drop (None if none)."""
        entries, reason = _valid_prefix(rows, offset)
        if reason is None:
            return entries, None
        bad = rows[len(entries) :]
        first = offset + len(entries) + 1
        if not _crc_ok(bad[0]) and any(_crc_ok(row) for row in bad[1:]):
            raise self._error(f"is corrupt in the middle of the log ({reason}); restore it")
        if first <= commit:
            raise self._error(f"lost committed entries ({reason}, commit {commit}); restore it")
        return entries, TailTruncation(first, bad[-1][0], reason)

    def _error(self, what: str) -> StorageError:
        return StorageError(f"raft log {self.path} {what}")


def _check_header(path: Path) -> None:
    """Refuse a non-empty file that is not SQLite before SQLite touches it."""
    try:
        with path.open("rb") as file:
            head = file.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StorageError(f"raft log {path} cannot be read ({exc}); check permissions") from exc
    if head and head != _SQLITE_MAGIC:
        raise StorageError(
            f"raft log {path} is not a SQLite file (corrupt or foreign); restore it or use a new"
            " data dir"
        )


def _valid_prefix(rows: list[_Row], offset: int) -> tuple[list[Entry], str | None]:
    """Entries up to the first gap or checksum failure, and what stopped there (None: all ok)."""
    entries: list[Entry] = []
    for expected, row in enumerate(rows, start=offset + 1):
        if row[0] != expected:
            return entries, f"gap: index {expected} missing, found {row[0]}"
        if not _crc_ok(row):
            return entries, f"checksum mismatch at index {expected}"
        entries.append(Entry(row[1], row[0], EntryKind(row[2]), row[3]))
    return entries, None


def _crc_ok(row: _Row) -> bool:
    index, term, kind, data, crc = row
    return isinstance(data, bytes) and entry_crc(term, index, kind, data) == crc


def _read_snapshot(db: sqlite3.Connection) -> Snapshot:
    """The latest snapshot's meta (its data stays on disk)."""
    index, term, conf = db.execute("SELECT idx, term, conf FROM snapshot").fetchone()
    return Snapshot(_meta(index, term, conf))


def _read_staging(db: sqlite3.Connection) -> StagedSnapshot | None:
    index, term, conf, source, size = db.execute(
        "SELECT idx, term, conf, source, size FROM staging"
    ).fetchone()
    return StagedSnapshot(_meta(index, term, conf), source, size) if index else None


def _meta(index: int, term: int, conf: bytes) -> SnapshotMeta:
    meta_conf = msgspec.msgpack.decode(conf, type=ConfState) if conf else ConfState()
    return SnapshotMeta(index, term, meta_conf)


def _write_plan(db: sqlite3.Connection, plan: SavePlan) -> None:
    if plan.snapshot is not None:
        if plan.keep_suffix:
            db.execute("DELETE FROM entries WHERE idx <= ?", (plan.snapshot.meta.index,))
        else:
            db.execute("DELETE FROM entries")
        if plan.install_staged:
            _install_staged(db, plan.snapshot.meta)
        else:
            _write_snapshot(db, plan.snapshot)
    if plan.truncate_from is not None:
        _delete_from(db, plan.truncate_from)
        db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", map(_entry_row, plan.entries))
    if plan.hard_state is not None:
        hs = plan.hard_state
        db.execute(
            "UPDATE hard_state SET term = ?, vote = ?, commit_index = ?",
            (hs.term, hs.vote, hs.commit),
        )


def _write_snapshot(db: sqlite3.Connection, snap: Snapshot) -> None:
    """The snapshot's meta and its data, in pieces of _PIECE bytes."""
    _write_meta(db, snap.meta)
    db.execute("DELETE FROM snapshot_data WHERE slot = ?", (_INSTALLED,))
    data = snap.data
    pieces = ((_INSTALLED, off, data[off : off + _PIECE]) for off in range(0, len(data), _PIECE))
    db.executemany("INSERT INTO snapshot_data VALUES (?, ?, ?)", pieces)


def _install_staged(db: sqlite3.Connection, meta: SnapshotMeta) -> None:
    """The staged pieces become the snapshot's data, inside the database (no bytes in memory)."""
    _write_meta(db, meta)
    db.execute("DELETE FROM snapshot_data WHERE slot = ?", (_INSTALLED,))
    db.execute("UPDATE snapshot_data SET slot = ? WHERE slot = ?", (_INSTALLED, _STAGED))
    db.execute("UPDATE staging SET idx = 0, term = 0, conf = x'', source = 0, size = 0")


def _write_meta(db: sqlite3.Connection, meta: SnapshotMeta) -> None:
    db.execute(
        "UPDATE snapshot SET idx = ?, term = ?, conf = ?",
        (meta.index, meta.term, msgspec.msgpack.encode(meta.conf)),
    )


def _write_stage(
    db: sqlite3.Connection, staged: StagedSnapshot, chunk: SnapshotChunk, fresh: bool
) -> None:
    if fresh:
        db.execute("DELETE FROM snapshot_data WHERE slot = ?", (_STAGED,))
    if chunk.data:
        db.execute(
            "INSERT INTO snapshot_data VALUES (?, ?, ?)", (_STAGED, chunk.offset, chunk.data)
        )
    meta = staged.meta
    db.execute(
        "UPDATE staging SET idx = ?, term = ?, conf = ?, source = ?, size = ?",
        (meta.index, meta.term, msgspec.msgpack.encode(meta.conf), staged.source, staged.size),
    )


def _delete_from(db: sqlite3.Connection, index: int) -> None:
    db.execute("DELETE FROM entries WHERE idx >= ?", (index,))


def _entry_row(entry: Entry) -> _Row:
    term, index, kind, data = entry.term, entry.index, int(entry.kind), entry.data
    return index, term, kind, data, entry_crc(term, index, kind, data)
