"""Raft §5.1: roles, terms and stale messages; plus the Ready/advance driver contract."""

from __future__ import annotations

import pytest

from raftoral.errors import ProposalDropped, RaftoralError
from raftoral.raft.types import Entry, HardState, Message, MsgType, Role
from tests.unit.raft.helpers import Network, drain, new_core, new_storage, of_type, win_election


def test_starts_as_follower_with_no_leader() -> None:
    core = new_core(1)
    assert (core.role, core.term, core.leader, core.vote) == (Role.FOLLOWER, 0, 0, 0)
    assert not core.has_ready()


@pytest.mark.parametrize("kind", [MsgType.APP, MsgType.HEARTBEAT, MsgType.VOTE])
@pytest.mark.parametrize("role", [Role.FOLLOWER, Role.CANDIDATE, Role.LEADER])
def test_higher_term_message_makes_any_role_follower(kind: MsgType, role: Role) -> None:
    core = new_core(1)
    if role == Role.CANDIDATE:
        core.campaign()
    elif role == Role.LEADER:
        win_election(core)
    drain(core)
    assert core.role == role
    core.step(Message(kind, 1, 2, term=5))
    assert core.role == Role.FOLLOWER
    assert core.term == 5
    assert core.leader == (2 if kind != MsgType.VOTE else 0)


def test_lower_term_messages_are_ignored_without_checkquorum() -> None:
    core = new_core(1)
    core.step(Message(MsgType.HEARTBEAT, 1, 2, term=3))
    drain(core)
    core.step(Message(MsgType.APP, 1, 3, term=2, entries=(Entry(2, 1),)))
    core.step(Message(MsgType.VOTE, 1, 3, term=2, index=9, log_term=2))
    assert (core.term, core.leader, core.last_index) == (3, 2, 0)
    assert drain(core) == []


def test_messages_to_another_node_are_ignored() -> None:
    core = new_core(1)
    core.step(Message(MsgType.HEARTBEAT, 2, 3, term=7))
    assert core.term == 0
    assert not core.has_ready()


def test_propose_on_follower_raises_with_known_leader() -> None:
    core = new_core(1)
    core.step(Message(MsgType.HEARTBEAT, 1, 3, term=2))
    with pytest.raises(ProposalDropped) as info:
        core.propose(b"x")
    assert info.value.leader == 3
    assert info.value.code == "proposal_dropped"


def test_hard_state_appears_only_when_changed() -> None:
    core = new_core(1)
    core.step(Message(MsgType.HEARTBEAT, 1, 2, term=2))
    rd = core.ready()
    assert rd.hard_state == HardState(2, 0, 0)
    assert rd.must_sync
    core.advance(rd)
    core.step(Message(MsgType.HEARTBEAT, 1, 2, term=2))
    rd = core.ready()
    assert rd.hard_state is None
    assert not rd.must_sync
    core.advance(rd)


def test_commit_only_change_does_not_force_sync() -> None:
    storage = new_storage((1, 2, 3))
    storage.save(HardState(1, 0, 0), [Entry(1, 1)])
    core = new_core(1, storage=storage)
    core.step(Message(MsgType.HEARTBEAT, 1, 2, term=1, commit=1))
    rd = core.ready()
    assert rd.hard_state == HardState(1, 0, 1)
    assert not rd.must_sync
    assert rd.committed_entries == (Entry(1, 1),)


def test_one_outstanding_ready() -> None:
    core = new_core(1)
    core.campaign()
    assert core.has_ready()
    rd = core.ready()
    assert not core.has_ready()
    with pytest.raises(RaftoralError):
        core.ready()
    core.advance(rd)
    with pytest.raises(RaftoralError):
        core.advance(rd)


def test_soft_state_reports_role_and_leader_changes() -> None:
    core = new_core(1)
    core.step(Message(MsgType.HEARTBEAT, 1, 2, term=1))
    rd = core.ready()
    assert rd.soft_state is not None
    assert (rd.soft_state.leader, rd.soft_state.role) == (2, Role.FOLLOWER)
    core.advance(rd)
    core.step(Message(MsgType.HEARTBEAT, 1, 2, term=1))
    rd = core.ready()
    assert rd.soft_state is None


def test_leader_broadcasts_heartbeats_with_commit_capped_by_match() -> None:
    core = new_core(1, heartbeat_tick=2)
    win_election(core)
    core.step(Message(MsgType.APP_RESP, 1, 2, term=1, index=1))
    drain(core)
    assert core.commit_index == 1
    core.tick()
    assert drain(core) == []
    core.tick()
    beats = of_type(drain(core), MsgType.HEARTBEAT)
    assert {(m.to, m.commit) for m in beats} == {(2, 1), (3, 0)}


def test_status_reports_progress_only_on_leader() -> None:
    net = Network()
    leader = net.elect(1)
    st = leader.status()
    assert (st.id, st.role, st.leader, st.commit, st.applied) == (1, Role.LEADER, 1, 1, 1)
    assert {i: (p.match, p.next) for i, p in st.progress.items()} == {
        1: (1, 2),
        2: (1, 2),
        3: (1, 2),
    }
    assert net.cores[2].status().progress == {}
