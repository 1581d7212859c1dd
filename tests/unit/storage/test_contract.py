"""The LogStorage contract, run against MemoryStorage and SqliteStorage alike.

Index rules, overwrite of a conflicting tail, size limits, hard state, snapshots and compaction.
"""

from __future__ import annotations

import pytest

from raftoral.errors import CompactedError, StorageError, UnavailableError
from raftoral.raft.storage import LogStorage
from raftoral.raft.types import ConfState, Entry, EntryKind, HardState, Snapshot
from tests.unit.storage.helpers import Storage, ents, snap


def test_both_implement_the_protocol(storage: Storage) -> None:
    typed: LogStorage = storage
    assert typed.first_index() == 1


def test_empty_storage(storage: Storage) -> None:
    assert storage.first_index() == 1
    assert storage.last_index() == 0
    assert storage.term(0) == 0
    assert storage.entries(1, 1) == []
    assert storage.initial_state() == (HardState(), ConfState())
    assert storage.snapshot() == Snapshot()


def test_append_then_read(storage: Storage) -> None:
    entries = [*ents(1, 3, term=1), Entry(2, 4, EntryKind.CONF_CHANGE, b"cc")]
    storage.save(None, entries)
    assert (storage.first_index(), storage.last_index()) == (1, 4)
    assert [storage.term(i) for i in range(0, 5)] == [0, 1, 1, 1, 2]
    assert storage.entries(1, 5) == entries
    assert storage.entries(2, 4) == entries[1:3]


def test_overwrite_truncates_conflicting_tail(storage: Storage) -> None:
    storage.save(None, ents(1, 5, term=1))
    storage.save(None, ents(3, 4, term=2))
    assert storage.last_index() == 4
    assert [storage.term(i) for i in range(1, 5)] == [1, 1, 2, 2]


def test_append_must_not_leave_a_gap(storage: Storage) -> None:
    storage.save(None, ents(1, 2))
    with pytest.raises(ValueError, match="gap"):
        storage.save(None, ents(4, 5))
    with pytest.raises(ValueError, match="contiguous"):
        storage.save(None, [Entry(1, 3), Entry(1, 5)])
    assert storage.last_index() == 2


def test_term_outside_the_log(storage: Storage) -> None:
    storage.save(None, ents(1, 10))
    storage.compact(4)
    assert storage.term(4) == 1
    with pytest.raises(CompactedError):
        storage.term(3)
    with pytest.raises(UnavailableError):
        storage.term(11)


def test_entries_outside_the_log(storage: Storage) -> None:
    storage.save(None, ents(1, 10))
    storage.compact(4)
    with pytest.raises(CompactedError):
        storage.entries(4, 6)
    with pytest.raises(UnavailableError):
        storage.entries(9, 12)
    assert storage.entries(5, 11) == ents(5, 10)


def test_entries_max_bytes(storage: Storage) -> None:
    storage.save(None, ents(1, 5, data=b"x" * 10))
    assert len(storage.entries(1, 6, max_bytes=35)) == 3
    assert len(storage.entries(1, 6, max_bytes=30)) == 3
    assert len(storage.entries(1, 6, max_bytes=0)) == 1  # at least one
    assert len(storage.entries(1, 6, max_bytes=1000)) == 5


def test_hard_state_round_trip(storage: Storage) -> None:
    storage.save(HardState(term=3, vote=2, commit=0), ents(1, 2, term=3))
    storage.save(HardState(term=3, vote=2, commit=2), [])
    assert storage.initial_state()[0] == HardState(3, 2, 2)
    storage.save(None, ents(3, 3, term=3))
    assert storage.initial_state()[0] == HardState(3, 2, 2)


def test_bootstrap_records_the_configuration(storage: Storage) -> None:
    storage.bootstrap(ConfState((1, 2, 3)))
    assert storage.initial_state() == (HardState(), ConfState((1, 2, 3)))
    assert (storage.first_index(), storage.last_index(), storage.term(0)) == (1, 0, 0)
    with pytest.raises(StorageError, match="already holds"):
        storage.bootstrap(ConfState((1,)))


def test_bootstrap_refuses_a_used_storage(storage: Storage) -> None:
    with pytest.raises(ValueError, match="voter"):
        storage.bootstrap(ConfState())
    storage.save(HardState(1, 1, 0), [])
    with pytest.raises(StorageError):
        storage.bootstrap(ConfState((1, 2, 3)))


def test_compact_drops_entries_and_keeps_the_term(storage: Storage) -> None:
    storage.bootstrap(ConfState((1, 2, 3)))
    storage.save(HardState(2, 1, 6), [*ents(1, 3, term=1), *ents(4, 8, term=2)])
    storage.compact(5, data=b"state")
    assert (storage.first_index(), storage.last_index()) == (6, 8)
    assert storage.snapshot() == snap(5, 2, data=b"state")
    assert storage.initial_state() == (HardState(2, 1, 6), ConfState((1, 2, 3)))
    with pytest.raises(CompactedError):
        storage.compact(5)
    with pytest.raises(UnavailableError):
        storage.compact(9)


def test_snapshot_that_agrees_keeps_the_log_after_it(storage: Storage) -> None:
    storage.save(None, ents(1, 6, term=1))
    storage.save(None, [], snap(4, 1, voters=(1, 2)))
    assert (storage.first_index(), storage.last_index()) == (5, 6)
    assert storage.term(4) == 1
    assert storage.initial_state()[1] == ConfState((1, 2))


def test_snapshot_that_disagrees_discards_the_log(storage: Storage) -> None:
    storage.save(None, ents(1, 6, term=1))
    storage.save(HardState(3, 0, 10), [], snap(10, 3))
    assert (storage.first_index(), storage.last_index()) == (11, 10)
    assert storage.term(10) == 3
    with pytest.raises(CompactedError):
        storage.term(6)


def test_snapshot_then_entries_in_one_save(storage: Storage) -> None:
    storage.save(None, ents(1, 3, term=1))
    storage.save(HardState(2, 0, 5), ents(6, 7, term=2), snap(5, 2))
    assert (storage.first_index(), storage.last_index()) == (6, 7)
    assert storage.entries(6, 8) == ents(6, 7, term=2)


def test_entries_already_covered_by_the_snapshot_are_skipped(storage: Storage) -> None:
    storage.save(None, ents(1, 6, term=1))
    storage.compact(4)
    storage.save(None, ents(3, 8, term=1))
    assert (storage.first_index(), storage.last_index()) == (5, 8)


def test_older_snapshot_is_refused(storage: Storage) -> None:
    storage.save(None, ents(1, 6))
    storage.compact(4)
    with pytest.raises(ValueError, match="not newer"):
        storage.save(None, [], snap(3, 1))
    assert storage.snapshot().meta.index == 4


def test_failed_save_changes_nothing(storage: Storage) -> None:
    storage.save(HardState(1, 0, 0), ents(1, 3))
    with pytest.raises(ValueError):
        storage.save(HardState(9, 9, 9), ents(9, 9), snap(2, 1))
    assert storage.initial_state()[0] == HardState(1, 0, 0)
    assert (storage.first_index(), storage.last_index()) == (1, 3)
