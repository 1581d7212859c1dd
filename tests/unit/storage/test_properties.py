"""Property test: random saves (overlapping appends, hard states, compactions, crashes or
reopens) leave each storage equal to a simple reference model; SqliteStorage also after reopening.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from raftoral.raft.types import Entry, HardState
from raftoral.storage import MemoryStorage, SqliteStorage
from tests.unit.storage.helpers import Storage


@dataclass(frozen=True)
class Model:
    """The obvious model: a dict of entries after the snapshot point."""

    hard_state: HardState = field(default_factory=HardState)
    snap_index: int = 0
    snap_term: int = 0
    log: dict[int, Entry] = field(default_factory=dict)

    def last_index(self) -> int:
        return self.snap_index + len(self.log)

    def term(self, index: int) -> int:
        return self.snap_term if index == self.snap_index else self.log[index].term

    def append(self, entries: list[Entry]) -> Model:
        first = entries[0].index
        kept = {i: e for i, e in self.log.items() if i < first}
        kept.update((e.index, e) for e in entries if e.index > self.snap_index)
        return replace(self, log=kept)

    def compact(self, index: int) -> Model:
        log = {i: e for i, e in self.log.items() if i > index}
        return replace(self, snap_index=index, snap_term=self.term(index), log=log)


Step = tuple[str, int, int, int, bool]  # kind, three numbers, sync
small = st.integers(0, 3)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("append"), small, st.integers(1, 4), st.integers(1, 5), st.booleans()),
        st.tuples(st.just("hard"), st.integers(0, 5), small, st.integers(0, 20), st.booleans()),
        st.tuples(st.just("compact"), small, st.just(0), st.just(0), st.just(True)),
        st.tuples(st.just("restart"), st.just(0), st.just(0), st.just(0), st.just(True)),
    ),
    max_size=25,
)


def assert_matches(store: Storage, model: Model) -> None:
    assert store.initial_state()[0] == model.hard_state
    assert (store.first_index(), store.last_index()) == (model.snap_index + 1, model.last_index())
    assert store.snapshot().meta.index == model.snap_index
    assert store.term(model.snap_index) == model.snap_term
    got = store.entries(model.snap_index + 1, model.last_index() + 1)
    assert got == [model.log[i] for i in sorted(model.log)]


def run(store: Storage, steps: list[Step], restart: Callable[[], Storage]) -> Model:
    """Apply `steps` to `store` and to the model; return the model of what must be there."""
    live = durable = Model()
    for step in steps:
        if step[0] == "restart":
            store = restart()
            live = durable if isinstance(store, MemoryStorage) else live
            assert_matches(store, live)
            continue
        live, synced = apply_step(store, live, step)
        durable = live if synced else durable
    assert_matches(store, live)
    return live


def apply_step(store: Storage, model: Model, step: Step) -> tuple[Model, bool]:
    kind, a, b, c, sync = step
    if kind == "append":
        start = max(1, model.last_index() + 1 - a)
        entries = [Entry(c, i, data=bytes([i % 256])) for i in range(start, start + b)]
        store.save(None, entries, sync=sync)
        return model.append(entries), sync
    if kind == "hard":
        store.save(HardState(a, b, c), [], sync=sync)
        return replace(model, hard_state=HardState(a, b, c)), sync
    index = model.last_index() - a
    if index <= model.snap_index:
        return model, False
    store.compact(index)
    return model.compact(index), True


@settings(max_examples=150, deadline=None)
@given(steps=ops)
def test_memory_storage_matches_the_model(steps: list[Step]) -> None:
    store = MemoryStorage()

    def crash() -> Storage:
        store.crash()
        return store

    run(store, steps, crash)


@settings(max_examples=60, deadline=None)
@given(steps=ops)
def test_sqlite_storage_matches_the_model_and_reopens_equal(
    steps: list[Step],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "raft.db"
        opened = [SqliteStorage(path)]

        def reopen() -> Storage:
            opened[-1].close()
            opened.append(SqliteStorage(path))
            return opened[-1]

        model = run(opened[0], steps, reopen)
        assert_matches(reopen(), model)
        opened[-1].close()
