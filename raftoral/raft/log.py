"""RaftLog: the core's view of its log, stable storage plus the unstable tail not yet persisted.

Owns index arithmetic (compacted prefix, stable/unstable boundary), conflict search and commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from raftoral.errors import CompactedError, RaftoralError, UnavailableError
from raftoral.raft.storage import LogStorage
from raftoral.raft.types import Entry, SnapshotMeta


def entry_size(entry: Entry) -> int:
    """Bytes an entry counts for against size limits: its payload."""
    return len(entry.data)


def _take_within(entries: Sequence[Entry], max_bytes: int, at_least_one: bool = True) -> int:
    """How many leading entries fit in max_bytes (at least one if asked and there is one)."""
    total = 0
    for n, entry in enumerate(entries):
        total += len(entry.data)
        if total > max_bytes and (n > 0 or not at_least_one):
            return n
    return len(entries)


class RaftLog:
    """Entries `first_index() .. last_index()`; those below `offset` are in storage, the rest in
    the unstable tail. The unstable tail's first `in_progress` entries were handed out in a Ready
    that is being persisted; stable_to() drops them once the driver says they are durable.

    Index `first_index() - 1` is the compacted prefix (a snapshot); only its term is known.
    A snapshot received from the leader replaces the log at once (`restore`); until the driver
    has installed it, `pending_snapshot` stands in for the storage's snapshot.
    """

    __slots__ = (
        "_appended_from",
        "_in_progress",
        "_offset",
        "_unstable",
        "applied",
        "applying",
        "committed",
        "pending_snapshot",
        "storage",
    )

    def __init__(self, storage: LogStorage, committed: int, applied: int) -> None:
        self.storage = storage
        self._offset = storage.last_index() + 1
        self._unstable: list[Entry] = []
        self._in_progress = 0
        self._appended_from: int | None = None
        self.pending_snapshot: SnapshotMeta | None = None
        floor = storage.first_index() - 1
        self.committed = max(committed, floor)
        if applied > self.committed:
            raise ValueError(f"applied index {applied} is beyond the commit index {self.committed}")
        self.applied = max(applied, floor)
        self.applying = self.applied

    # -- indexes and terms -------------------------------------------------------------------

    def first_index(self) -> int:
        if self.pending_snapshot is not None:
            return self.pending_snapshot.index + 1
        return self.storage.first_index()

    def last_index(self) -> int:
        return self._offset + len(self._unstable) - 1

    def stable_last_index(self) -> int:
        """Last index known durable locally and still part of this log."""
        return self._offset - 1

    def term(self, index: int) -> int:
        """Term at `index`; raises CompactedError / UnavailableError outside the log."""
        j = index - self._offset
        if j >= 0:
            if j < len(self._unstable):
                return self._unstable[j].term
            raise UnavailableError(f"index {index} is after the last index {self.last_index()}")
        if index < self.first_index() - 1:
            raise CompactedError(f"index {index} is compacted")
        if self.pending_snapshot is not None:
            return self.pending_snapshot.term
        return self.storage.term(index)

    def term_or_zero(self, index: int) -> int:
        try:
            return self.term(index)
        except (CompactedError, UnavailableError):
            return 0

    def last_term(self) -> int:
        return self.term(self.last_index())

    def match_term(self, index: int, term: int) -> bool:
        if index > self.last_index():
            return False
        return self.term_or_zero(index) == term

    def is_up_to_date(self, last_index: int, last_term: int) -> bool:
        """Whether a log ending at (last_index, last_term) is at least as up to date as ours."""
        ours = self.last_term()
        return last_term > ours or (last_term == ours and last_index >= self.last_index())

    # -- reading -----------------------------------------------------------------------------

    def slice(self, lo: int, hi: int, max_bytes: int) -> list[Entry]:
        """Entries [lo, hi) within max_bytes (at least one when lo < hi)."""
        if lo >= hi:
            return []
        if lo < self.first_index():
            raise CompactedError(f"index {lo} is compacted (first index {self.first_index()})")
        off = self._offset
        if lo >= off:
            tail = self._unstable[lo - off : hi - off]
            return tail[: _take_within(tail, max_bytes)]
        stable = self.storage.entries(lo, min(hi, off), max_bytes)
        if hi <= off or len(stable) < off - lo:
            return stable
        budget = max_bytes - sum(len(e.data) for e in stable)
        tail = self._unstable[: hi - off]
        return stable + tail[: _take_within(tail, budget, at_least_one=False)]

    def entries_from(self, lo: int, max_bytes: int) -> list[Entry]:
        return self.slice(lo, self.last_index() + 1, max_bytes)

    # -- appending ---------------------------------------------------------------------------

    def append(self, entries: Sequence[Entry]) -> int:
        """Append entries, truncating our tail at entries[0].index first; the new last index."""
        if not entries:
            return self.last_index()
        after = entries[0].index
        if after <= self.committed:
            raise RaftoralError(f"append at {after} would overwrite committed {self.committed}")
        self._appended_from = min(after, self._appended_from or after)
        off = self._offset
        if after == off + len(self._unstable):
            self._unstable.extend(entries)
        elif after <= off:
            self._offset = after
            self._unstable = list(entries)
            self._in_progress = 0
        else:
            keep = after - off
            del self._unstable[keep:]
            self._unstable.extend(entries)
            self._in_progress = min(self._in_progress, keep)
        return self.last_index()

    def take_appended_from(self) -> int | None:
        """The lowest index (re)written by append() since the last call, if any."""
        first, self._appended_from = self._appended_from, None
        return first

    def restore(self, meta: SnapshotMeta) -> None:
        """Replace the whole log by the snapshot `meta` (committed: it comes from a leader)."""
        self.pending_snapshot = meta
        self._unstable = []
        self._in_progress = 0
        self._offset = meta.index + 1
        self._appended_from = None
        self.committed = meta.index
        self.applying = max(self.applying, meta.index)

    def snapshot_installed(self, meta: SnapshotMeta) -> None:
        """The driver installed `meta` and restored its state machine from it."""
        if self.pending_snapshot == meta:
            self.pending_snapshot = None
        self.applied_to(meta.index)

    def find_conflict(self, entries: Sequence[Entry]) -> int:
        """Index of the first entry that is new or conflicts with ours; 0 if we hold them all."""
        last = self.last_index()
        for entry in entries:
            if entry.index > last or self.term_or_zero(entry.index) != entry.term:
                return entry.index
        return 0

    def maybe_append(
        self, prev_index: int, prev_term: int, commit: int, entries: Sequence[Entry]
    ) -> int | None:
        """Leader append anchored at (prev_index, prev_term): the last index it covers, or None
        when our log does not contain the anchor."""
        if not self.match_term(prev_index, prev_term):
            return None
        last_new = prev_index + len(entries)
        conflict = self.find_conflict(entries)
        if conflict:
            self.append(entries[conflict - prev_index - 1 :])
        self.commit_to(min(commit, last_new))
        return last_new

    def find_conflict_by_term(self, index: int, term: int) -> tuple[int, int]:
        """The largest i <= index whose term is <= term (or unknown), with its term (0 if unknown).

        Used on both sides of a rejected append to skip a whole divergent term per round trip.
        """
        index = min(index, self.last_index())
        while index > 0:
            try:
                ours = self.term(index)
            except CompactedError:
                return index, 0
            if ours <= term:
                return index, ours
            index -= 1
        return 0, 0

    # -- commit and apply --------------------------------------------------------------------

    def commit_to(self, index: int) -> None:
        if index > self.committed:
            if index > self.last_index():
                raise RaftoralError(
                    f"commit {index} is beyond the last index {self.last_index()}; log lost?"
                )
            self.committed = index

    def maybe_commit(self, index: int, term: int) -> bool:
        """Commit up to `index` if it is ahead and its entry is of `term` (Raft §5.4.2)."""
        if index > self.committed and term and self.term_or_zero(index) == term:
            self.committed = index
            return True
        return False

    def has_next_committed(self) -> bool:
        return self.applying < min(self.committed, self._offset - 1)

    def next_committed(self, max_bytes: int) -> list[Entry]:
        """Committed entries not yet handed out, only those durable locally, within max_bytes."""
        hi = min(self.committed, self._offset - 1) + 1
        return self.slice(self.applying + 1, hi, max_bytes)

    def accept_applying(self, index: int) -> None:
        """Committed entries up to `index` were handed out to be applied."""
        self.applying = max(self.applying, index)

    def applied_to(self, index: int) -> None:
        self.applied = max(self.applied, index)
        self.applying = max(self.applying, self.applied)

    # -- the unstable tail's persistence -----------------------------------------------------

    def has_next_unstable(self) -> bool:
        return len(self._unstable) > self._in_progress

    def next_unstable(self) -> tuple[Entry, ...]:
        return tuple(self._unstable[self._in_progress :])

    def accept_unstable(self) -> None:
        """The entries from next_unstable() are now being persisted."""
        self._in_progress = len(self._unstable)

    def stable_to(self, index: int, term: int) -> None:
        """Entries up to (index, term) are durable; ignored if our log changed there since."""
        j = index - self._offset
        if j < 0 or j >= len(self._unstable) or self._unstable[j].term != term:
            return
        del self._unstable[: j + 1]
        self._offset = index + 1
        self._in_progress = max(0, self._in_progress - j - 1)
