"""ReadIndex (dissertation §6.4): a read is served at the commit index recorded once the leader has
committed in its term and a quorum confirmed its leadership by a heartbeat round."""

from __future__ import annotations

import pytest

from raftoral.errors import ReadIndexDropped
from raftoral.raft.types import Message, MsgType, ReadState
from tests.unit.raft.helpers import Network, drain, new_core, of_type, win_election


def read_states(net: Network, node: int) -> list[ReadState]:
    return [rs for rd in net.readies[node] for rs in rd.read_states]


def test_leader_read_needs_a_quorum_of_heartbeat_acks() -> None:
    core = new_core(1)
    win_election(core)
    core.step(Message(MsgType.APP_RESP, 1, 2, term=1, index=1))
    drain(core)
    core.read_index(b"r1")
    rd = core.ready()
    beats = of_type(rd.messages, MsgType.HEARTBEAT)
    assert {m.to for m in beats} == {2, 3} and all(m.context for m in beats)
    assert rd.read_states == ()
    core.advance(rd)
    core.step(Message(MsgType.HEARTBEAT_RESP, 1, 3, term=1))  # a plain heartbeat ack: no count
    rd = core.ready()
    assert rd.read_states == ()
    core.advance(rd)
    core.step(Message(MsgType.HEARTBEAT_RESP, 1, 2, term=1, context=beats[0].context))
    assert core.ready().read_states == (ReadState(1, b"r1"),)


def test_reads_wait_for_a_commit_in_the_leaders_term() -> None:
    core = new_core(1)
    win_election(core)
    core.read_index(b"early")
    rd = core.ready()
    assert not [m for m in rd.messages if m.context]  # no confirmation round yet
    core.advance(rd)
    core.step(Message(MsgType.APP_RESP, 1, 2, term=1, index=1))  # the no-op commits
    rd = core.ready()
    beat = next(m for m in rd.messages if m.type == MsgType.HEARTBEAT and m.context)
    core.advance(rd)
    core.step(Message(MsgType.HEARTBEAT_RESP, 1, 2, term=1, context=beat.context))
    assert core.ready().read_states == (ReadState(1, b"early"),)


def test_follower_forwards_to_the_leader() -> None:
    net = Network()
    leader = net.elect(1)
    leader.propose(b"x")
    net.stabilize()
    net.cores[3].read_index(b"from-3")
    net.stabilize()
    assert read_states(net, 3) == [ReadState(leader.commit_index, b"from-3")]
    assert of_type(net.sent, MsgType.READ_INDEX_RESP)
    assert read_states(net, 1) == []


def test_batched_reads_share_one_heartbeat_round() -> None:
    net = Network()
    leader = net.elect(1)
    start = len(net.sent)
    leader.read_index(b"a")
    leader.read_index(b"b")
    net.stabilize()
    assert len(of_type(net.sent[start:], MsgType.HEARTBEAT)) == 2  # one per follower
    assert read_states(net, 1) == [ReadState(1, b"a"), ReadState(1, b"b")]


def test_single_voter_answers_at_once_after_its_first_commit() -> None:
    net = Network(ids=(1,))
    leader = net.elect(1)
    leader.read_index(b"solo")
    assert read_states(net, 1) == [] and leader.ready().read_states == (ReadState(1, b"solo"),)


def test_partitioned_leader_cannot_confirm() -> None:
    net = Network()
    leader = net.elect(1)
    net.isolate(1)
    leader.read_index(b"stale?")
    net.tick(1, 3)
    assert read_states(net, 1) == []


def test_unanswered_reads_are_dropped_on_leader_change() -> None:
    net = Network()
    leader = net.elect(1)
    net.isolate(1)
    leader.read_index(b"lost")
    net.stabilize()
    net.elect(2)
    net.heal()
    net.tick(2, 2)
    assert leader.role.name == "FOLLOWER"
    assert read_states(net, 1) == []
    leader.read_index(b"retry")  # the caller retries, now forwarded to node 2
    net.stabilize()
    assert read_states(net, 1) == [ReadState(net.cores[2].commit_index, b"retry")]


def test_no_leader_known_raises() -> None:
    core = new_core(2)
    with pytest.raises(ReadIndexDropped, match="knows no leader"):
        core.read_index(b"x")
