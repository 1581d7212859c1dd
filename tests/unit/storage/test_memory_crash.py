"""MemoryStorage's crash model: unsynced writes are visible, and crash() drops exactly those.

This is what lets the simulator model a machine that loses its page cache.
"""

from __future__ import annotations

from raftoral.raft.types import ConfState, HardState
from raftoral.storage import MemoryStorage
from tests.unit.storage.helpers import ents


def test_unsynced_writes_are_visible_then_lost_in_a_crash() -> None:
    store = MemoryStorage()
    store.save(HardState(1, 1, 0), ents(1, 3))
    store.save(HardState(2, 2, 3), ents(3, 5, term=2), sync=False)
    assert (store.last_index(), store.term(3)) == (5, 2)
    store.crash()
    assert store.last_index() == 3
    assert [store.term(i) for i in (1, 2, 3)] == [1, 1, 1]
    assert store.initial_state()[0] == HardState(1, 1, 0)


def test_a_sync_makes_earlier_unsynced_writes_durable() -> None:
    store = MemoryStorage()
    store.save(None, ents(1, 3), sync=False)
    store.save(HardState(1, 0, 0), [], sync=False)
    store.save(None, ents(4, 4))
    store.save(HardState(5, 0, 0), [], sync=False)
    store.crash()
    assert store.last_index() == 4
    assert store.initial_state()[0] == HardState(1, 0, 0)


def test_crash_without_any_sync_leaves_an_empty_storage() -> None:
    store = MemoryStorage()
    store.save(HardState(1, 1, 0), ents(1, 3), sync=False)
    store.crash()
    assert (store.last_index(), store.initial_state()[0]) == (0, HardState())


def test_bootstrap_and_compaction_are_durable() -> None:
    store = MemoryStorage()
    store.bootstrap(ConfState((1, 2, 3)))
    store.save(HardState(1, 1, 4), ents(1, 6))
    store.compact(4)
    store.save(None, ents(7, 9), sync=False)
    store.crash()
    assert (store.first_index(), store.last_index()) == (5, 6)
    assert store.initial_state()[1] == ConfState((1, 2, 3))


def test_sync_count_counts_synced_saves() -> None:
    store = MemoryStorage()
    store.save(None, ents(1, 1000), sync=False)
    assert store.sync_count == 0
    store.save(HardState(1, 1, 0), ents(1001, 2000))
    assert store.sync_count == 1
