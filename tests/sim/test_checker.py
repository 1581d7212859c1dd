"""Each invariant of the checker, fed by hand-made writes, applies and leaders (no simulation).

Fake nodes carry just what the checker reads: id, incarnation, storage, applied, core, log_term.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from raftoral.raft.types import ConfState, Entry, EntryKind, Role, SnapshotMeta
from raftoral.sim.invariants import Checker, InvariantViolation, Proposal
from raftoral.sim.reads import ReadChecker
from raftoral.sim.state_machine import SimStateMachine
from raftoral.storage.memory import MemoryStorage


@dataclass
class FakeCore:
    role: Role = Role.FOLLOWER
    term: int = 1
    last_index: int = 0
    commit_index: int = 0


@dataclass
class FakeNode:
    id: int
    incarnation: int = 1
    storage: MemoryStorage = field(default_factory=MemoryStorage)
    sm: SimStateMachine = field(default_factory=SimStateMachine)
    core: FakeCore = field(default_factory=FakeCore)

    def __post_init__(self) -> None:
        self.storage.bootstrap(ConfState(voters=(1, 2, 3)))

    def log_term(self, index: int) -> int:
        last = self.storage.last_index()
        return self.storage.term(index) if index <= last else 0

    def write(self, checker: Checker, *entries: Entry, role: Role = Role.FOLLOWER) -> None:
        checker.on_write(self.as_node(), role, self.core.term, entries, None)
        self.storage.save(None, entries)
        self.core.last_index = self.storage.last_index()

    def apply(self, checker: Checker, entry: Entry) -> None:
        checker.on_apply(self.as_node(), entry)
        self.sm.apply(entry)

    def as_node(self) -> Any:
        return self


def lead(checker: Checker, node: FakeNode, term: int, commit: int = 0) -> None:
    """Make `node` the leader of `term` with commit index `commit`, and let the checker see it."""
    node.core = FakeCore(Role.LEADER, term, node.storage.last_index(), commit)
    checker.check([node.as_node()])


def E(index: int, term: int, data: bytes = b"") -> Entry:
    return Entry(term, index, data=data)


def violated(invariant: str) -> Any:
    return pytest.raises(InvariantViolation, match=f"^{invariant}:")


def test_log_matching_same_index_and_term_different_data() -> None:
    checker, a, b = Checker(), FakeNode(1), FakeNode(2)
    a.write(checker, E(1, 1, b"x"))
    with violated("log_matching"):
        b.write(checker, E(1, 1, b"y"))


def test_log_matching_shared_entry_on_different_prefixes() -> None:
    checker, a, b = Checker(), FakeNode(1), FakeNode(2)
    a.write(checker, E(1, 1, b"a"), E(2, 2, b"x"))
    with violated("log_matching"):
        b.write(checker, E(1, 3, b"c"), E(2, 2, b"x"))


def test_leader_may_not_rewrite_its_log() -> None:
    checker, a = Checker(), FakeNode(1)
    a.core.term = 2
    a.write(checker, E(1, 2), E(2, 2), E(3, 2), role=Role.LEADER)
    a.write(checker, E(4, 2), role=Role.LEADER)  # appending is fine
    with violated("leader_append_only"):
        a.write(checker, E(3, 2, b"other"), role=Role.LEADER)


def test_follower_may_truncate() -> None:
    checker, a = Checker(), FakeNode(1)
    a.write(checker, E(1, 1), E(2, 1))
    a.write(checker, E(2, 2))


def test_state_machine_safety() -> None:
    checker, a, b = Checker(), FakeNode(1), FakeNode(2)
    a.write(checker, E(1, 1, b"a"))
    b.write(checker, E(1, 2, b"b"))
    lead(checker, a, term=1, commit=1)
    a.apply(checker, E(1, 1, b"a"))
    with violated("state_machine_safety"):
        b.apply(checker, E(1, 2, b"b"))


def test_applies_only_what_a_leader_committed() -> None:
    checker, a = Checker(), FakeNode(1)
    a.write(checker, E(1, 1), E(2, 1))
    lead(checker, a, term=1, commit=1)
    a.apply(checker, E(1, 1))
    a.core = FakeCore()
    with violated("state_machine_safety"):
        a.apply(checker, E(2, 1))


def test_applies_in_order_from_the_stable_log() -> None:
    checker, a = Checker(), FakeNode(1)
    a.write(checker, E(1, 1), E(2, 1))
    with violated("state_machine_safety"):
        a.apply(checker, E(2, 1))
    with violated("state_machine_safety"):
        a.apply(checker, E(1, 1, b"not in the log"))


def test_election_safety() -> None:
    checker, a, b = Checker(), FakeNode(1), FakeNode(2)
    a.core = FakeCore(Role.LEADER, 5)
    checker.check([a.as_node(), b.as_node()])
    b.core = FakeCore(Role.LEADER, 5)
    with violated("election_safety"):
        checker.check([a.as_node(), b.as_node()])


def committed_on_node_1(acked: bool) -> Checker:
    """A checker that saw node 1 write and apply (1, 1, b"a"), acknowledged to a client or not."""
    checker, a = Checker(), FakeNode(1)
    a.write(checker, E(1, 1, b"a"))
    if acked:
        checker.proposed(Proposal(1, 1, 1, 1, b"a"))
    lead(checker, a, term=1, commit=1)
    a.apply(checker, E(1, 1, b"a"))
    assert checker.acked == ({1: E(1, 1, b"a")} if acked else {})
    return checker


@pytest.mark.parametrize(
    ("acked", "invariant"), [(False, "leader_completeness"), (True, "acked_proposal_lost")]
)
def test_new_leader_must_hold_every_committed_entry(acked: bool, invariant: str) -> None:
    checker, b = committed_on_node_1(acked), FakeNode(2)
    b.core = FakeCore(Role.LEADER, 2)
    with violated(invariant):
        checker.check([b.as_node()])


def test_a_late_leader_of_an_older_term_need_not_hold_newer_commits() -> None:
    """A candidate may count old votes and lead term 2 after term 3 committed (seed 3750)."""
    checker, a, b = Checker(), FakeNode(1), FakeNode(2)
    a.write(checker, E(1, 3))
    lead(checker, a, term=3, commit=1)
    b.core = FakeCore(Role.LEADER, 2)
    checker.check([b.as_node()])


def test_leader_log_may_not_shrink() -> None:
    checker, a = Checker(), FakeNode(1)
    a.core = FakeCore(Role.LEADER, 2, last_index=4)
    checker.check([a.as_node()])
    a.core.last_index = 3
    with violated("leader_append_only"):
        checker.check([a.as_node()])


def conf_entry(index: int, term: int) -> Entry:
    return Entry(term, index, EntryKind.CONF_CHANGE, b"")


def test_at_most_one_conf_change_pending_in_a_leaders_log() -> None:
    checker, a = Checker(), FakeNode(1)
    a.core.term = 1
    a.write(checker, E(1, 1), conf_entry(2, 1), role=Role.LEADER)
    lead(checker, a, term=1)  # one pending change is fine
    a.write(checker, conf_entry(3, 1), role=Role.LEADER)
    with violated("conf_change_pending"):
        checker.check([a.as_node()])


def test_a_restored_state_must_equal_the_applied_prefix() -> None:
    checker, a, b = Checker(), FakeNode(1), FakeNode(2)
    a.write(checker, E(1, 1, b"x"), E(2, 1, b"y"))
    lead(checker, a, term=1, commit=2)
    a.apply(checker, E(1, 1, b"x"))
    a.apply(checker, E(2, 1, b"y"))
    meta = SnapshotMeta(2, 1, ConfState((1, 2, 3)))
    b.sm = SimStateMachine.restore(a.sm.snapshot(pad=100))
    checker.on_restore(b.as_node(), meta)  # the same state: fine
    wrong = SimStateMachine()
    wrong.apply(E(1, 1, b"x"))
    wrong.apply(E(2, 1, b"other"))
    b.sm = SimStateMachine.restore(wrong.snapshot())
    with violated("snapshot_state"):
        checker.on_restore(b.as_node(), meta)


def test_damaged_snapshot_bytes_are_reported() -> None:
    sm = SimStateMachine()
    sm.apply(E(1, 1, b"x"))
    data = sm.snapshot(pad=64)
    assert SimStateMachine.restore(data).corrupt is None
    assert SimStateMachine.restore(data).digest == sm.digest
    assert SimStateMachine.restore(data[:-1] + b"?").corrupt is not None
    assert SimStateMachine.restore(data[:10]).corrupt is not None


def test_a_read_may_not_miss_an_acknowledged_write_or_an_earlier_read() -> None:
    reads = ReadChecker()
    reads.acknowledged(5)
    reads.invoked(b"r1", node=1, now=10)
    reads.answered(2, b"r1", 7)
    reads.answered(2, b"r1", 1)  # a repeated answer of a finished read is ignored
    reads.invoked(b"r2", node=3, now=20)  # after r1 returned 7
    with violated("linearizable_read"):
        reads.answered(3, b"r2", 6)
