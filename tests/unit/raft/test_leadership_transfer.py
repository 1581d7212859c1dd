"""Leadership transfer (dissertation §3.10): the leader catches the target up, sends TIMEOUT_NOW,
and the target campaigns at once, past pre-vote and the leader lease."""

from __future__ import annotations

import pytest

from raftoral.errors import ConfChangeRejected, LeadershipTransferRejected, ProposalDropped
from raftoral.raft.types import ConfChange, ConfChangeType, Message, MsgType, Role
from tests.unit.raft.helpers import Network, of_type


def lease_cluster() -> Network:
    """Pre-vote and check-quorum on, so only a forced campaign can unseat a live leader."""
    net = Network(pre_vote=True, check_quorum=True)
    net.elect(1)
    return net


def test_transfer_to_an_up_to_date_follower() -> None:
    net = lease_cluster()
    start = len(net.sent)
    net.cores[1].transfer_leadership(2)
    net.stabilize()
    assert net.cores[2].role == Role.LEADER
    assert net.cores[1].role == Role.FOLLOWER and net.cores[1].leader == 2
    assert of_type(net.sent[start:], MsgType.TIMEOUT_NOW)
    assert not of_type(net.sent[start:], MsgType.PRE_VOTE)  # the forced campaign skips it


def test_target_is_caught_up_first() -> None:
    net = lease_cluster()
    leader = net.cores[1]
    net.isolate(3)
    for n in range(5):
        leader.propose(b"%d" % n)
    net.stabilize()
    net.heal()
    leader.transfer_leadership(3)
    with pytest.raises(ProposalDropped, match="leadership is moving to node 3") as err:
        leader.propose(b"blocked")
    assert err.value.leader == 3
    net.stabilize()
    assert net.cores[3].role == Role.LEADER
    assert net.log_terms(3) == net.log_terms(1)
    assert net.data_applied(3)[-5:] == [b"%d" % n for n in range(5)]


def test_transfer_aborts_after_an_election_timeout() -> None:
    net = lease_cluster()
    leader = net.cores[1]
    net.isolate(2)
    leader.transfer_leadership(2)
    assert leader.status().lead_transferee == 2
    for _ in range(10):
        leader.tick()
    assert leader.status().lead_transferee == 0
    assert leader.role == Role.LEADER
    leader.propose(b"accepted again")


def test_transfer_to_a_learner_or_unknown_node_is_rejected() -> None:
    net = lease_cluster()
    net.add_node(4)
    net.cores[1].propose_conf_change(ConfChange(ConfChangeType.ADD_LEARNER, 4))
    net.stabilize()
    with pytest.raises(LeadershipTransferRejected, match="learner"):
        net.cores[1].transfer_leadership(4)
    with pytest.raises(LeadershipTransferRejected, match="not a member"):
        net.cores[1].transfer_leadership(9)
    with pytest.raises(LeadershipTransferRejected, match="not the leader"):
        net.cores[2].transfer_leadership(3)


def test_transfer_to_self_is_a_no_op() -> None:
    net = lease_cluster()
    net.cores[1].transfer_leadership(1)
    assert net.cores[1].status().lead_transferee == 0


def test_no_conf_change_during_a_transfer() -> None:
    net = lease_cluster()
    net.isolate(3)
    net.cores[1].propose(b"x")
    net.stabilize()
    net.cores[1].transfer_leadership(3)
    with pytest.raises(ConfChangeRejected, match="moving to node 3"):
        net.cores[1].propose_conf_change(ConfChange(ConfChangeType.REMOVE_NODE, 3))


def test_timeout_now_is_ignored_by_a_non_voter() -> None:
    net = lease_cluster()
    net.add_node(4)
    net.cores[1].propose_conf_change(ConfChange(ConfChangeType.ADD_LEARNER, 4))
    net.stabilize()
    learner = net.cores[4]
    learner.step(Message(MsgType.TIMEOUT_NOW, 4, 1, learner.term))
    assert learner.role == Role.FOLLOWER
