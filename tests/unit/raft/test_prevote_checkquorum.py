"""Pre-vote and check-quorum (Raft thesis §9.6, §6.2): a returning partitioned node cannot disrupt
a healthy cluster, a leader that lost its quorum steps down, pre-votes never raise terms."""

from __future__ import annotations

from raftoral.raft.types import Message, MsgType, Role
from tests.unit.raft.helpers import Network, drain, new_core, of_type, win_election

BOTH = {"pre_vote": True, "check_quorum": True}


def test_prevote_does_not_raise_anyone_term() -> None:
    core = new_core(1, pre_vote=True)
    core.campaign()
    assert (core.role, core.term, core.vote) == (Role.PRE_CANDIDATE, 0, 0)
    rd = core.ready()
    assert rd.hard_state is None
    pre = of_type(rd.messages, MsgType.PRE_VOTE)
    assert {(m.to, m.term) for m in pre} == {(2, 1), (3, 1)}
    voter = new_core(2, pre_vote=True)
    voter.step(pre[0])
    assert voter.term == 0
    resp = of_type(drain(voter), MsgType.PRE_VOTE_RESP)
    assert [(m.term, m.reject) for m in resp] == [(1, False)]  # the request's (future) term


def test_prevote_win_starts_the_real_election() -> None:
    core = new_core(1, pre_vote=True)
    core.campaign()
    drain(core)
    core.step(Message(MsgType.PRE_VOTE_RESP, 1, 2, term=1))
    assert (core.role, core.term, core.vote) == (Role.CANDIDATE, 1, 1)
    assert {m.to for m in of_type(drain(core), MsgType.VOTE)} == {2, 3}


def test_prevote_rejected_with_higher_term_makes_follower_at_that_term() -> None:
    core = new_core(1, pre_vote=True)
    core.campaign()
    drain(core)
    core.step(Message(MsgType.PRE_VOTE_RESP, 1, 2, term=5, reject=True))
    assert (core.role, core.term) == (Role.FOLLOWER, 5)


def test_prevote_lost_returns_to_follower_without_term_change() -> None:
    core = new_core(1, pre_vote=True)
    core.campaign()
    drain(core)
    core.step(Message(MsgType.PRE_VOTE_RESP, 1, 2, term=0, reject=True))
    core.step(Message(MsgType.PRE_VOTE_RESP, 1, 3, term=0, reject=True))
    assert (core.role, core.term) == (Role.FOLLOWER, 0)


def test_lower_term_prevote_is_rejected_with_our_term() -> None:
    core = new_core(1, pre_vote=True)
    core.step(Message(MsgType.HEARTBEAT, 1, 2, term=4))
    drain(core)
    core.step(Message(MsgType.PRE_VOTE, 1, 3, term=3, index=5, log_term=3))
    resp = of_type(drain(core), MsgType.PRE_VOTE_RESP)
    assert [(m.term, m.reject) for m in resp] == [(4, True)]


def test_follower_with_live_leader_refuses_prevote_and_ignores_vote() -> None:
    core = new_core(1, **BOTH)
    core.step(Message(MsgType.HEARTBEAT, 1, 2, term=2))
    drain(core)
    core.step(Message(MsgType.PRE_VOTE, 1, 3, term=3, index=9, log_term=2))
    core.step(Message(MsgType.VOTE, 1, 3, term=3, index=9, log_term=2))
    assert (core.term, core.vote, core.leader) == (2, 0, 2)
    assert of_type(drain(core), MsgType.VOTE_RESP) == []


def test_follower_grants_prevote_once_leader_lease_expired() -> None:
    core = new_core(1, rng_extra=5, **BOTH)
    core.step(Message(MsgType.HEARTBEAT, 1, 2, term=2))
    drain(core)
    for _ in range(10):
        core.tick()
    core.step(Message(MsgType.PRE_VOTE, 1, 3, term=3))
    resp = of_type(drain(core), MsgType.PRE_VOTE_RESP)
    assert [(m.term, m.reject) for m in resp] == [(3, False)]
    assert core.term == 2


def test_partitioned_node_returning_does_not_disrupt_with_prevote() -> None:
    net = Network(**BOTH)
    net.tick_all(15)
    leader = net.cores[1]
    assert leader.role == Role.LEADER
    term = leader.term
    net.isolate(3)
    for _ in range(60):
        net.tick_all()
    assert net.cores[3].term == term  # pre-votes failed, so its term never rose
    net.heal()
    net.tick_all(5)
    assert leader.role == Role.LEADER
    assert {c.term for c in net.cores.values()} == {term}
    assert net.cores[3].leader == 1


def test_stale_higher_term_node_is_freed_with_checkquorum_only() -> None:
    net = Network(check_quorum=True)
    net.tick_all(15)
    assert net.cores[1].role == Role.LEADER
    net.isolate(3)
    for _ in range(60):
        net.tick_all()
    stuck = net.cores[3]
    assert stuck.role == Role.CANDIDATE and stuck.term > net.cores[1].term
    net.heal()
    # Its vote requests are ignored (leases); its reply to the leader's heartbeat with its higher
    # term makes the leader step down, and a new election at a higher term follows.
    for _ in range(60):
        net.tick_all()
    leaders = [c for c in net.cores.values() if c.role == Role.LEADER]
    assert len(leaders) == 1
    assert len({c.term for c in net.cores.values()}) == 1
    assert stuck.leader == leaders[0].id


def test_lower_term_heartbeat_is_answered_with_our_term() -> None:
    core = new_core(1, check_quorum=True)
    core.step(Message(MsgType.VOTE, 1, 3, term=7))
    drain(core)
    core.step(Message(MsgType.HEARTBEAT, 1, 2, term=3))
    resp = of_type(drain(core), MsgType.APP_RESP)
    assert [(m.to, m.term) for m in resp] == [(2, 7)]


def test_leader_ignores_vote_request_within_lease() -> None:
    core = new_core(1, check_quorum=True)
    win_election(core)
    drain(core)
    core.step(Message(MsgType.VOTE, 1, 2, term=9, index=99, log_term=9))
    assert (core.role, core.term) == (Role.LEADER, 1)


def test_leader_without_quorum_steps_down() -> None:
    net = Network(check_quorum=True)
    net.tick_all(15)
    leader = net.cores[1]
    assert leader.role == Role.LEADER
    net.isolate(1)
    for _ in range(2 * 10):
        leader.tick()
        net.stabilize()
    assert leader.role == Role.FOLLOWER
    assert leader.leader == 0


def test_leader_with_quorum_stays() -> None:
    net = Network(**BOTH)
    net.tick_all(15)
    leader = net.cores[1]
    net.isolate(3)
    for _ in range(50):
        net.tick_all()
    assert leader.role == Role.LEADER


def test_leader_without_checkquorum_keeps_leading_alone() -> None:
    net = Network()
    leader = net.elect(1)
    net.isolate(1)
    for _ in range(30):
        leader.tick()
        net.stabilize()
    assert leader.role == Role.LEADER
