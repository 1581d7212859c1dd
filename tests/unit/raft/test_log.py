"""RaftLog: the stable/unstable boundary, conflict truncation, findConflictByTerm, size limits."""

from __future__ import annotations

import pytest

from raftoral.errors import CompactedError, RaftoralError, UnavailableError
from raftoral.raft.log import RaftLog
from raftoral.raft.types import Entry, HardState
from raftoral.storage.memory import MemoryStorage
from tests.unit.raft.helpers import new_storage, storage_with_log


def log_of(terms: list[int], stable: int | None = None, commit: int = 0) -> RaftLog:
    """A log with entries 1.. of `terms`; the first `stable` of them in storage."""
    stable = len(terms) if stable is None else stable
    storage = storage_with_log((1,), terms[:stable])
    log = RaftLog(storage, commit, 0)
    log.append([Entry(t, i) for i, t in enumerate(terms, 1)][stable:])
    return log


def terms_of(log: RaftLog) -> list[int]:
    return [log.term(i) for i in range(log.first_index(), log.last_index() + 1)]


def test_boundary_and_term_lookup() -> None:
    log = log_of([1, 1, 2, 3], stable=2)
    assert (log.first_index(), log.stable_last_index(), log.last_index()) == (1, 2, 4)
    assert terms_of(log) == [1, 1, 2, 3]
    assert log.term(0) == 0
    with pytest.raises(UnavailableError):
        log.term(5)
    assert log.next_unstable() == (Entry(2, 3), Entry(3, 4))


def test_compacted_prefix_term() -> None:
    storage = storage_with_log((1,), [1, 1, 2, 2])
    storage.compact(2)
    log = RaftLog(storage, 0, 0)
    assert (log.first_index(), log.committed, log.applied) == (3, 2, 2)
    assert log.term(2) == 1  # the snapshot's term
    with pytest.raises(CompactedError):
        log.term(1)
    assert log.find_conflict_by_term(3, 1) == (2, 1)


def test_stable_to_moves_boundary_and_ignores_changed_entries() -> None:
    log = log_of([1, 1, 2, 2], stable=1)
    log.accept_unstable()
    assert not log.has_next_unstable()
    log.stable_to(3, 2)
    assert log.stable_last_index() == 3
    assert log.next_unstable() == ()  # entry 4 is still in progress
    log.stable_to(4, 9)  # wrong term: our entry 4 is of term 2
    assert log.stable_last_index() == 3
    log.stable_to(4, 2)
    assert log.stable_last_index() == 4


def test_truncation_inside_in_progress_entries_resends_only_new_ones() -> None:
    log = log_of([1, 1, 1, 1], stable=1)
    writing = log.next_unstable()
    log.accept_unstable()  # 2..4 being persisted
    log.append([Entry(3, 3), Entry(3, 4)])
    assert log.next_unstable() == (Entry(3, 3), Entry(3, 4))
    log.storage.save(None, writing)
    log.stable_to(4, 1)  # the old write finishing: stale, ignored
    assert log.stable_last_index() == 1
    writing = log.next_unstable()
    log.accept_unstable()
    log.storage.save(None, writing)
    log.stable_to(4, 3)
    assert log.stable_last_index() == 4
    assert terms_of(log) == [1, 1, 3, 3]


def test_truncation_below_stable_boundary() -> None:
    log = log_of([1, 1, 1, 1], stable=4)
    log.append([Entry(2, 2)])
    assert (log.stable_last_index(), log.last_index()) == (1, 2)
    assert log.next_unstable() == (Entry(2, 2),)
    assert terms_of(log) == [1, 2]


def test_append_over_committed_is_refused() -> None:
    log = log_of([1, 1, 1], commit=2)
    with pytest.raises(RaftoralError):
        log.append([Entry(2, 2)])


@pytest.mark.parametrize(
    ("ents", "conflict"),
    [
        ([], 0),
        ([(1, 1), (2, 2), (3, 3)], 0),
        ([(2, 2), (3, 3)], 0),
        ([(3, 3)], 0),
        ([(1, 1), (2, 2), (3, 3), (4, 4), (5, 4)], 4),
        ([(3, 3), (4, 4), (5, 4)], 4),
        ([(4, 4)], 4),
        ([(1, 4), (2, 4)], 1),
        ([(2, 1), (3, 4), (4, 4)], 2),
        ([(3, 1), (4, 2), (5, 4)], 3),
    ],
)
def test_find_conflict(ents: list[tuple[int, int]], conflict: int) -> None:
    log = log_of([1, 2, 3])
    assert log.find_conflict([Entry(t, i) for i, t in ents]) == conflict


@pytest.mark.parametrize(
    ("terms", "index", "term", "want"),
    [
        ([1, 1, 1, 4, 4, 5, 5, 6, 6, 6], 10, 2, (3, 1)),  # leader skips the terms above 2
        ([1, 1, 1, 4, 4, 5, 5, 6, 6, 6], 10, 5, (7, 5)),
        ([1, 1, 1, 4, 4, 5, 5, 6, 6, 6], 10, 6, (10, 6)),
        ([1, 1, 1, 4, 4, 5, 5, 6, 6, 6], 12, 9, (10, 6)),  # beyond our log: our last
        ([1, 3, 3, 4, 4, 5, 5, 5, 6], 8, 3, (3, 3)),  # follower side of etcd's example
        ([2, 2], 2, 1, (0, 0)),
        ([], 5, 5, (0, 0)),
    ],
)
def test_find_conflict_by_term(
    terms: list[int], index: int, term: int, want: tuple[int, int]
) -> None:
    assert log_of(terms, stable=len(terms) // 2).find_conflict_by_term(index, term) == want


@pytest.mark.parametrize(
    ("prev", "prev_term", "commit", "ents", "want", "want_commit", "want_terms"),
    [
        (3, 2, 3, [], 3, 3, [1, 2, 2]),  # match, nothing new
        (3, 3, 3, [], None, 0, [1, 2, 2]),  # term mismatch
        (4, 2, 3, [], None, 0, [1, 2, 2]),  # beyond our log
        (3, 2, 9, [(4, 3)], 4, 4, [1, 2, 2, 3]),  # commit limited by the last new entry
        (1, 1, 0, [(2, 2)], 2, 0, [1, 2, 2]),  # duplicate: no truncation of what follows
        (1, 1, 0, [(2, 3)], 2, 0, [1, 3]),  # conflict: truncate and replace
    ],
)
def test_maybe_append(
    prev: int,
    prev_term: int,
    commit: int,
    ents: list[tuple[int, int]],
    want: int | None,
    want_commit: int,
    want_terms: list[int],
) -> None:
    log = log_of([1, 2, 2], stable=1)
    got = log.maybe_append(prev, prev_term, commit, [Entry(t, i) for i, t in ents])
    assert got == want
    assert log.committed == want_commit
    assert terms_of(log) == want_terms


def test_is_up_to_date() -> None:
    log = log_of([1, 2, 2])
    assert log.is_up_to_date(3, 2)
    assert log.is_up_to_date(1, 3)
    assert not log.is_up_to_date(2, 2)
    assert not log.is_up_to_date(9, 1)


def test_slice_spans_stable_and_unstable_within_size() -> None:
    storage = new_storage((1,))
    storage.save(HardState(1, 0, 0), [Entry(1, i, data=b"x" * 10) for i in (1, 2, 3)])
    log = RaftLog(storage, 0, 0)
    log.append([Entry(1, i, data=b"y" * 10) for i in (4, 5, 6)])
    assert [e.index for e in log.slice(2, 7, 1000)] == [2, 3, 4, 5, 6]
    assert [e.index for e in log.slice(2, 7, 35)] == [2, 3, 4]
    assert [e.index for e in log.slice(2, 7, 20)] == [2, 3]
    assert [e.index for e in log.slice(5, 7, 1)] == [5]  # at least one
    assert [e.index for e in log.slice(3, 7, 1)] == [3]
    assert log.slice(4, 4, 100) == []


def test_commit_and_apply_only_stable_entries() -> None:
    log = log_of([1, 1, 1, 1], stable=2)
    log.commit_to(4)
    assert log.has_next_committed()
    assert [e.index for e in log.next_committed(1 << 20)] == [1, 2]
    log.accept_applying(2)
    assert not log.has_next_committed()
    log.applied_to(2)
    log.storage.save(None, log.next_unstable())
    log.accept_unstable()
    log.stable_to(4, 1)
    assert [e.index for e in log.next_committed(1 << 20)] == [3, 4]
    with pytest.raises(RaftoralError):
        log.commit_to(5)
    log.commit_to(1)  # never goes back
    assert log.committed == 4


def test_maybe_commit_requires_term() -> None:
    log = log_of([1, 2, 2])
    assert not log.maybe_commit(3, 1)
    assert not log.maybe_commit(3, 0)
    assert log.maybe_commit(3, 2) and log.committed == 3
    assert not log.maybe_commit(2, 2)


def test_applied_beyond_commit_is_refused() -> None:
    with pytest.raises(ValueError):
        RaftLog(MemoryStorage(), 0, 5)
