"""The in-memory image of one Raft group's stable state (hard state, snapshot, log after it).

Both storages answer every read from a LogMirror and plan every write through its index rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from raftoral.errors import CompactedError, UnavailableError
from raftoral.raft.log import entry_size
from raftoral.raft.types import (
    ConfState,
    Entry,
    HardState,
    Snapshot,
    SnapshotChunk,
    SnapshotMeta,
    StagedSnapshot,
)


@dataclass(frozen=True, slots=True)
class SavePlan:
    """One validated `save`: what to store, computed before anything is written."""

    hard_state: HardState | None
    snapshot: Snapshot | None
    keep_suffix: bool  # with a snapshot: the stored entries after it agree with it and stay
    truncate_from: int | None  # with entries: the stored entries from here on are replaced
    entries: tuple[Entry, ...]  # to store (those the snapshot covers are dropped)
    install_staged: bool = False  # the snapshot's data is the staged snapshot's bytes

    def with_snapshot_data(self, data: bytes) -> SavePlan:
        """The same plan with the snapshot's data replaced (staged bytes in, or out of a mirror
        that keeps only the meta)."""
        if self.snapshot is None:
            return self
        return replace(self, snapshot=Snapshot(self.snapshot.meta, data))


@dataclass(frozen=True, slots=True)
class StagePlan:
    """One received snapshot chunk to stage, and the staging it leads to."""

    chunk: SnapshotChunk
    staged: StagedSnapshot
    fresh: bool  # the chunk starts a new staging (the staged bytes are replaced)


@dataclass(frozen=True, slots=True)
class WriteBatch:
    """One durable write planned on the reading thread: chunks to stage, then one save.

    prepare() plans it, write() makes it durable (on any one writer thread), apply() then shows
    it to reads (on the reading thread); discard() instead when write() failed."""

    stages: tuple[StagePlan, ...]
    plan: SavePlan | None
    sync: bool


class LogMirror:
    """Hard state, snapshot and the entries after the snapshot, with the LogStorage index rules.

    The snapshot is the log's offset: first_index() == snapshot index + 1, and term(snapshot
    index) is the snapshot's term. Writes are two-phase: plan_save() validates, apply() mutates.
    """

    __slots__ = ("_entries", "hard_state", "snap")

    def __init__(
        self,
        hard_state: HardState | None = None,
        snap: Snapshot | None = None,
        entries: Sequence[Entry] = (),
    ) -> None:
        self.hard_state = HardState() if hard_state is None else hard_state
        self.snap = Snapshot() if snap is None else snap
        self._entries = list(entries)

    def copy(self) -> LogMirror:
        return LogMirror(self.hard_state, self.snap, self._entries)

    def is_empty(self) -> bool:
        """Nothing was ever stored: no entries, no snapshot or configuration, no hard state."""
        return not self._entries and self.snap == Snapshot() and self.hard_state == HardState()

    # -- reads ---------------------------------------------------------------------------------

    def first_index(self) -> int:
        return self.snap.meta.index + 1

    def last_index(self) -> int:
        return self.snap.meta.index + len(self._entries)

    def term(self, index: int) -> int:
        offset = self.snap.meta.index
        if index < offset:
            raise CompactedError(f"index {index} is compacted (snapshot at {offset})")
        if index == offset:
            return self.snap.meta.term
        if index > self.last_index():
            raise UnavailableError(f"index {index} is after the last index {self.last_index()}")
        return self._entries[index - offset - 1].term

    def entries(self, lo: int, hi: int, max_bytes: int | None = None) -> list[Entry]:
        """Entries [lo, hi); with max_bytes, stops before exceeding it but returns at least one."""
        if lo < self.first_index():
            raise CompactedError(f"index {lo} is compacted (first index {self.first_index()})")
        if hi > self.last_index() + 1:
            raise UnavailableError(f"index {hi - 1} is after the last index {self.last_index()}")
        if lo > hi:
            raise ValueError(f"invalid range [{lo}, {hi})")
        offset = self.snap.meta.index
        selected = self._entries[lo - offset - 1 : hi - offset - 1]
        return selected if max_bytes is None else _limit_size(selected, max_bytes)

    # -- writes --------------------------------------------------------------------------------

    def plan_save(
        self,
        hard_state: HardState | None,
        entries: Sequence[Entry],
        snapshot: Snapshot | None,
        staged: StagedSnapshot | None = None,
    ) -> SavePlan:
        """Validate a save against the current state; raises ValueError on a caller's mistake.

        A snapshot with empty data whose meta is that of `staged` installs the staged bytes."""
        offset, last, keep = self.snap.meta.index, self.last_index(), False
        if snapshot is not None:
            meta = snapshot.meta
            if meta.index <= offset:
                raise ValueError(f"snapshot at {meta.index} is not newer than the one at {offset}")
            keep = meta.index <= last and self.term(meta.index) == meta.term
            offset, last = meta.index, (last if keep else meta.index)
        to_store = _entries_to_store(entries, offset, last)
        truncate_from = entries[0].index if entries else None
        install = (
            snapshot is not None
            and not snapshot.data
            and staged is not None
            and staged.meta == snapshot.meta
        )
        return SavePlan(hard_state, snapshot, keep, truncate_from, to_store, install)

    def apply(self, plan: SavePlan) -> None:
        """Apply a plan made by plan_save() on this very state (or an identical one)."""
        if plan.snapshot is not None:
            dropped = plan.snapshot.meta.index - self.snap.meta.index
            self._entries = self._entries[dropped:] if plan.keep_suffix else []
            self.snap = plan.snapshot
        if plan.truncate_from is not None:
            del self._entries[max(0, plan.truncate_from - self.first_index()) :]
            self._entries.extend(plan.entries)
        if plan.hard_state is not None:
            self.hard_state = plan.hard_state

    def snapshot_at(self, index: int, data: bytes, conf: ConfState | None) -> Snapshot:
        """A snapshot covering the log up to `index` (for compaction); conf defaults to the
        stored snapshot's, which is right unless a conf change lies in the compacted range."""
        if index <= self.snap.meta.index:
            raise CompactedError(f"index {index} is already compacted")
        meta = SnapshotMeta(index, self.term(index), conf or self.snap.meta.conf)
        return Snapshot(meta, data)

    def bootstrap(self, conf: ConfState) -> None:
        """Record the initial configuration as an index-0, term-0 snapshot (storage empty)."""
        if not conf.voters:
            raise ValueError("a bootstrap configuration needs at least one voter")
        self.snap = Snapshot(SnapshotMeta(0, 0, conf))


class MirroredReads:
    """The read side of LogStorage, answered from `self._mirror` without touching any disk, and
    the writes of LogStorage as prepare() + write() + apply() of one WriteBatch."""

    _mirror: LogMirror
    _staged: StagedSnapshot | None

    def write(self, batch: WriteBatch) -> None:
        raise NotImplementedError

    def apply(self, batch: WriteBatch) -> None:
        raise NotImplementedError

    def discard(self, batch: WriteBatch) -> None:
        """Forget a prepared batch whose write failed."""

    def prepare(
        self,
        chunks: Sequence[SnapshotChunk] = (),
        hard_state: HardState | None = None,
        entries: Sequence[Entry] = (),
        snapshot: Snapshot | None = None,
        *,
        sync: bool = True,
    ) -> WriteBatch:
        """Validate a write against the state that reads show (raises ValueError on a caller's
        mistake); staged chunks are always synced."""
        index, staged = self._mirror.snap.meta.index, self._staged
        stages = []
        for chunk in chunks:
            after, fresh = plan_stage(staged, chunk, index)
            stages.append(StagePlan(chunk, after, fresh))
            staged = after
        plan = None
        if snapshot is not None or entries or hard_state is not None:
            newer = staged_if_newer(staged, index)
            plan = self._mirror.plan_save(hard_state, entries, snapshot, newer)
        return WriteBatch(tuple(stages), plan, sync or bool(stages))

    def prepare_compact(
        self, index: int, data: bytes = b"", conf: ConfState | None = None
    ) -> WriteBatch:
        """The batch that drops entries up to `index`, keeping its term as the snapshot's."""
        return self.prepare((), None, (), self._mirror.snapshot_at(index, data, conf))

    def save(
        self,
        hard_state: HardState | None,
        entries: Sequence[Entry],
        snapshot: Snapshot | None = None,
        *,
        sync: bool = True,
    ) -> None:
        """Store atomically; durable on return when `sync`, else at the next sync."""
        self._commit(self.prepare((), hard_state, entries, snapshot, sync=sync))

    def stage_snapshot_chunk(self, chunk: SnapshotChunk) -> None:
        """Stage a received chunk (durable on return)."""
        self._commit(self.prepare((chunk,)))

    def compact(self, index: int, data: bytes = b"", conf: ConfState | None = None) -> None:
        """Drop entries up to `index` (durably), keeping its term as the snapshot's."""
        self._commit(self.prepare_compact(index, data, conf))

    def staged_snapshot(self) -> StagedSnapshot | None:
        return staged_if_newer(self._staged, self._mirror.snap.meta.index)

    def _commit(self, batch: WriteBatch) -> None:
        try:
            self.write(batch)
        except BaseException:
            self.discard(batch)
            raise
        self.apply(batch)

    def initial_state(self) -> tuple[HardState, ConfState]:
        return self._mirror.hard_state, self._mirror.snap.meta.conf

    def first_index(self) -> int:
        return self._mirror.first_index()

    def last_index(self) -> int:
        return self._mirror.last_index()

    def term(self, index: int) -> int:
        return self._mirror.term(index)

    def entries(self, lo: int, hi: int, max_bytes: int | None = None) -> list[Entry]:
        return self._mirror.entries(lo, hi, max_bytes)

    def snapshot_meta(self) -> SnapshotMeta:
        return self._mirror.snap.meta


def plan_stage(
    staged: StagedSnapshot | None, chunk: SnapshotChunk, snapshot_index: int
) -> tuple[StagedSnapshot, bool]:
    """The staging after `chunk`, and whether it replaces the staged bytes (True) or extends
    them; raises ValueError for a stale snapshot or a chunk that leaves a gap."""
    meta = chunk.meta
    if meta.index <= snapshot_index:
        raise ValueError(f"snapshot at {meta.index} is not newer than the one at {snapshot_index}")
    current = staged_if_newer(staged, snapshot_index)
    if current is None or (current.meta, current.source) != (meta, chunk.source):
        if chunk.offset != 0:
            raise ValueError(f"a new staged snapshot must start at offset 0, not {chunk.offset}")
        return StagedSnapshot(meta, chunk.source, len(chunk.data)), True
    if chunk.offset != current.size:
        raise ValueError(f"chunk at offset {chunk.offset} leaves a gap after {current.size} bytes")
    return StagedSnapshot(meta, chunk.source, current.size + len(chunk.data)), False


def staged_if_newer(staged: StagedSnapshot | None, snapshot_index: int) -> StagedSnapshot | None:
    """The staging unless the latest snapshot already covers it (then it is obsolete)."""
    return staged if staged is not None and staged.meta.index > snapshot_index else None


def _entries_to_store(entries: Sequence[Entry], offset: int, last: int) -> tuple[Entry, ...]:
    """The entries of a save still to store once those at or before `offset` are dropped."""
    if not entries:
        return ()
    first = entries[0].index
    if any(entry.index != first + n for n, entry in enumerate(entries)):
        raise ValueError(f"entries to save are not contiguous from index {first}")
    if first > last + 1:
        raise ValueError(f"entries from index {first} would leave a gap after index {last}")
    return tuple(entries[max(0, offset + 1 - first) :])


def _limit_size(entries: list[Entry], max_bytes: int) -> list[Entry]:
    total = 0
    for n, entry in enumerate(entries):
        total += entry_size(entry)
        if total > max_bytes and n > 0:
            return entries[:n]
    return entries
