"""Raft §6 (dissertation ch. 4): membership changes one server at a time — a configuration takes
effect when appended, one change pending at most, none before the leader commits in its term."""

from __future__ import annotations

import pytest

from raftoral.errors import ConfChangeRejected
from raftoral.raft.confchange import decode_conf_entry, encode_conf_entry
from raftoral.raft.core import RaftCore
from raftoral.raft.types import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    EntryKind,
    Message,
    MsgType,
    Role,
)
from tests.unit.raft.helpers import Network, drain, new_core, of_type, win_election

ADD_VOTER, ADD_LEARNER, REMOVE = (
    ConfChangeType.ADD_VOTER,
    ConfChangeType.ADD_LEARNER,
    ConfChangeType.REMOVE_NODE,
)


def change(net: Network, leader: int, kind: ConfChangeType, node: int) -> int:
    index = net.cores[leader].propose_conf_change(ConfChange(kind, node))
    net.stabilize()
    return index


def conf_entry(term: int, index: int, conf: ConfState, node: int) -> Entry:
    data = encode_conf_entry(ConfChange(ADD_VOTER, node), conf)
    return Entry(term, index, EntryKind.CONF_CHANGE, data)


def test_add_voter_takes_effect_on_append_and_raises_the_quorum() -> None:
    net = Network()
    leader = net.elect(1)
    net.add_node(4)
    net.isolate(4)
    index = leader.propose_conf_change(ConfChange(ADD_VOTER, 4, b"addr-4"))
    assert leader.conf == ConfState(voters=(1, 2, 3, 4))  # before it commits
    net.isolate(3)
    net.stabilize()
    assert leader.commit_index < index  # 2 of 4 voters hold it: no quorum
    net.heal()
    net.tick(1, 2)  # the second heartbeat carries the commit to node 4
    assert leader.commit_index >= index
    for node in (1, 2, 3, 4):
        assert net.cores[node].conf == ConfState(voters=(1, 2, 3, 4))
    committed = [e for e in net.applied[4] if e.kind == EntryKind.CONF_CHANGE]
    assert decode_conf_entry(committed[0]).change.context == b"addr-4"


def test_new_node_with_empty_storage_learns_the_config_from_the_log_and_replicates() -> None:
    net = Network()
    leader = net.elect(1)
    leader.propose(b"before")
    net.stabilize()
    fresh = net.add_node(4)
    assert fresh.conf == ConfState()
    fresh.tick()
    for _ in range(40):
        fresh.tick()
    assert fresh.role == Role.FOLLOWER and fresh.term == 0  # no config: never campaigns
    change(net, 1, ADD_VOTER, 4)
    leader.propose(b"after")
    net.stabilize()
    assert fresh.conf.voters == (1, 2, 3, 4)
    assert net.data_applied(4)[-2:] == [net.data_applied(1)[-2], b"after"]
    assert net.log_terms(4) == net.log_terms(1)


def test_ready_reports_the_conf_state_when_it_changes() -> None:
    net = Network()
    net.elect(1)
    net.add_node(4)
    change(net, 1, ADD_LEARNER, 4)
    for node in (1, 2, 4):
        confs = [rd.conf_state for rd in net.readies[node] if rd.conf_state is not None]
        assert confs[-1] == ConfState(voters=(1, 2, 3), learners=(4,))


def test_learner_receives_the_log_but_never_counts_towards_commit() -> None:
    net = Network()
    leader = net.elect(1)
    net.add_node(4)
    change(net, 1, ADD_LEARNER, 4)
    net.isolate(2)
    net.isolate(3)
    net.cut -= {(1, 4), (4, 1)}
    index = leader.propose(b"x")
    net.stabilize()
    assert net.cores[4].last_index == index  # replicated to the learner ...
    assert leader.commit_index < index  # ... which does not count
    net.heal()
    net.tick(1)
    assert leader.commit_index == index


def test_learner_never_campaigns_and_is_never_asked_for_a_vote() -> None:
    net = Network()
    net.elect(1)
    net.add_node(4)
    change(net, 1, ADD_LEARNER, 4)
    learner = net.cores[4]
    net.isolate(4)
    for _ in range(50):
        learner.tick()
    net.stabilize()
    assert learner.role == Role.FOLLOWER
    assert not [m for m in net.sent if m.sender == 4 and m.type in (MsgType.VOTE,
                                                                        MsgType.PRE_VOTE)]
    net.heal()
    net.isolate(1)
    net.elect(2)
    assert not [m for m in net.sent if m.to == 4 and m.type == MsgType.VOTE]


def test_learner_vote_does_not_count() -> None:
    storage_conf = ConfState(voters=(1, 2, 3), learners=(4,))
    core = new_core(1, voters=(1, 2, 3))
    core._switch_conf(storage_conf)
    core.campaign()
    drain(core)
    core.step(Message(MsgType.VOTE_RESP, 1, 4, term=1))
    assert core.role == Role.CANDIDATE
    core.step(Message(MsgType.VOTE_RESP, 1, 2, term=1))
    assert core.role == Role.LEADER


def test_promote_a_caught_up_learner() -> None:
    net = Network()
    net.elect(1)
    net.add_node(4)
    change(net, 1, ADD_LEARNER, 4)
    assert net.cores[1].status().progress[4].match == net.cores[1].last_index
    change(net, 1, ADD_VOTER, 4)
    for core in net.cores.values():
        assert core.conf == ConfState(voters=(1, 2, 3, 4))
    net.isolate(1)
    net.elect(4)  # the promoted node can now win an election
    assert net.cores[4].role == Role.LEADER


def test_remove_follower_stops_replication_to_it() -> None:
    net = Network()
    leader = net.elect(1)
    change(net, 1, REMOVE, 3)
    assert leader.conf == ConfState(voters=(1, 2))
    assert 3 not in leader.status().progress
    sent = len(net.sent)
    leader.propose(b"x")
    net.tick(1)
    assert not [m for m in net.sent[sent:] if m.to == 3]
    net.isolate(3)
    index = leader.propose(b"y")
    net.stabilize()
    assert leader.commit_index == index  # {1, 2} is the whole quorum now


def test_removed_leader_leads_until_the_change_commits_then_steps_down() -> None:
    net = Network()
    leader = net.elect(1)
    net.isolate(1)
    index = leader.propose_conf_change(ConfChange(REMOVE, 1))
    net.stabilize()
    assert leader.role == Role.LEADER and leader.conf.voters == (2, 3)
    # It still tracks itself (a voter of the committed configuration) but does not count itself.
    assert leader.status().progress.keys() == {1, 2, 3}
    assert leader.commit_index < index
    net.heal()
    apps = len(net.sent)
    net.stabilize()
    net.tick(1)
    assert leader.commit_index >= index
    assert leader.role == Role.FOLLOWER
    assert any(m.type == MsgType.APP and m.commit >= index for m in net.sent[apps:])
    for _ in range(50):
        leader.tick()
    net.stabilize()
    assert leader.role == Role.FOLLOWER  # not a voter: never campaigns
    net.tick_all(30)
    new = [c for c in net.cores.values() if c.role == Role.LEADER]
    assert [c.id for c in new] in ([2], [3])


def test_removed_leader_needs_a_majority_of_the_new_config() -> None:
    core = new_core(1)
    win_election(core)
    for peer in (2, 3):
        core.step(Message(MsgType.APP_RESP, 1, peer, term=1, index=1))
    drain(core)
    index = core.propose_conf_change(ConfChange(REMOVE, 1))
    drain(core)
    core.step(Message(MsgType.APP_RESP, 1, 2, term=1, index=index))
    assert core.commit_index < index  # its own copy does not count: 1 of {2, 3}
    core.step(Message(MsgType.APP_RESP, 1, 3, term=1, index=index))
    assert core.commit_index == index
    assert core.role == Role.FOLLOWER


def test_only_one_change_pending_at_a_time() -> None:
    net = Network()
    leader = net.elect(1)
    net.add_node(4)
    net.add_node(5)
    net.isolate(2)
    net.isolate(3)
    index = leader.propose_conf_change(ConfChange(ADD_LEARNER, 4))
    net.stabilize()
    with pytest.raises(ConfChangeRejected, match=f"index {index} is not committed"):
        leader.propose_conf_change(ConfChange(ADD_LEARNER, 5))
    net.heal()
    net.tick(1)
    leader.propose_conf_change(ConfChange(ADD_LEARNER, 5))


def test_leader_must_commit_an_entry_of_its_term_before_a_change() -> None:
    core = new_core(1)
    win_election(core)
    with pytest.raises(ConfChangeRejected, match="has not committed an entry of its term"):
        core.propose_conf_change(ConfChange(REMOVE, 3))
    core.step(Message(MsgType.APP_RESP, 1, 2, term=1, index=1))
    drain(core)
    core.propose_conf_change(ConfChange(REMOVE, 3))


@pytest.mark.parametrize(
    ("cc", "why"),
    [
        (ConfChange(ADD_VOTER, 2), "already a voter"),
        (ConfChange(REMOVE, 9), "not a member"),
        (ConfChange(ADD_LEARNER, 3), "is a voter"),
        (ConfChange(ADD_VOTER, 0), "node id must be > 0"),
    ],
)
def test_invalid_changes_are_rejected(cc: ConfChange, why: str) -> None:
    net = Network()
    leader = net.elect(1)
    with pytest.raises(ConfChangeRejected, match=why):
        leader.propose_conf_change(cc)
    assert leader.conf == ConfState(voters=(1, 2, 3))


def test_removing_the_last_voter_is_rejected() -> None:
    net = Network(ids=(1,))
    leader = net.elect(1)
    with pytest.raises(ConfChangeRejected, match="last voter"):
        leader.propose_conf_change(ConfChange(REMOVE, 1))


def test_change_on_a_follower_is_rejected_with_the_leader() -> None:
    net = Network()
    net.elect(1)
    with pytest.raises(ConfChangeRejected, match="not the leader") as err:
        net.cores[2].propose_conf_change(ConfChange(REMOVE, 3))
    assert err.value.leader == 1


def test_truncating_a_conf_entry_reverts_the_config() -> None:
    core = new_core(2)
    wider = ConfState(voters=(1, 2, 3, 4))
    core.step(Message(MsgType.APP, 2, 1, term=1, entries=(Entry(1, 1), conf_entry(1, 2, wider, 4))))
    assert core.conf == wider
    drain(core)
    core.step(Message(MsgType.APP, 2, 3, term=2, index=1, log_term=1, entries=(Entry(2, 2),)))
    assert core.conf == ConfState(voters=(1, 2, 3))
    rd = core.ready()
    assert rd.conf_state == ConfState(voters=(1, 2, 3))


def test_removed_node_that_missed_its_removal_cannot_disrupt() -> None:
    net = Network(pre_vote=True, check_quorum=True)
    net.tick(1, 20)
    leader = next(c for c in net.cores.values() if c.role == Role.LEADER)
    removed = next(i for i in (1, 2, 3) if i != leader.id)
    net.isolate(removed)
    change(net, leader.id, REMOVE, removed)
    term, sent = leader.term, len(net.sent)
    net.heal()
    for _ in range(60):
        net.cores[removed].tick()
        for core in net.cores.values():
            if core.id != removed:
                core.tick()
        net.stabilize()
    assert leader.role == Role.LEADER and leader.term == term
    assert not [m for m in net.sent[sent:] if m.sender == leader.id and m.to == removed]
    assert [m for m in of_type(net.sent[sent:], MsgType.PRE_VOTE) if m.sender == removed]


def test_restart_rederives_the_config_from_snapshot_and_log() -> None:
    net = Network()
    net.elect(1)
    net.add_node(4)
    change(net, 1, ADD_LEARNER, 4)
    net.compact(2)  # the learner change is now inside node 2's snapshot
    change(net, 1, ADD_VOTER, 4)
    net.isolate(2)
    net.isolate(4)
    change(net, 1, REMOVE, 3)  # stays uncommitted: only 1 and 3 of {1, 2, 4} hold it
    restarted = net.restart(2)
    assert restarted.conf == ConfState(voters=(1, 2, 3, 4))
    restarted_leader = net.restart(1)
    assert restarted_leader.conf == ConfState(voters=(1, 2, 4))  # uncommitted, yet in force
    assert net.storages[2].snapshot().meta.conf == ConfState(voters=(1, 2, 3), learners=(4,))


def test_restart_with_a_stored_config_only_in_the_log() -> None:
    net = Network()
    net.elect(1)
    net.add_node(4)
    change(net, 1, ADD_VOTER, 4)
    core: RaftCore = net.restart(4)
    assert core.conf == ConfState(voters=(1, 2, 3, 4))


def test_leader_keeps_replicating_to_a_node_whose_removal_is_uncommitted() -> None:
    """Simulator seed 7285, message by message on one leader: voters (1..5), 4 and 5 lagging.
    The leader appends the removal of 3; the new quorum (3 of {1, 2, 4, 5}) needs 4 or 5, so the
    removal stays uncommitted. Node 3 may still campaign meanwhile (it is a voter of the
    committed configuration), so the leader must keep it following: appends and heartbeats go
    on reaching it until the removal commits, are told the commit, then stop."""
    voters = (1, 2, 3, 4, 5)
    core = new_core(1, voters=voters, heartbeat_tick=1)
    win_election(core)
    for peer in (2, 3):
        core.step(Message(MsgType.APP_RESP, 1, peer, term=1, index=1))
    drain(core)
    assert core.commit_index == 1  # 1, 2, 3 of five
    index = core.propose_conf_change(ConfChange(REMOVE, 3))
    assert core.conf.voters == (1, 2, 4, 5)
    msgs = drain(core)
    assert [m.index + len(m.entries) for m in of_type(msgs, MsgType.APP) if m.to == 3] == [index]
    core.step(Message(MsgType.APP_RESP, 1, 3, term=1, index=index))
    core.step(Message(MsgType.APP_RESP, 1, 2, term=1, index=index))
    drain(core)
    assert core.commit_index < index  # 3's ack does not count: only 1 and 2 of {1, 2, 4, 5}
    assert 3 in core.status().progress
    core.tick()
    beats = of_type(drain(core), MsgType.HEARTBEAT)
    assert sorted(m.to for m in beats) == [2, 3, 4, 5]  # 3 is kept following
    core.step(Message(MsgType.APP_RESP, 1, 4, term=1, index=index))  # 4 caught up
    assert core.commit_index == index
    told = of_type(drain(core), MsgType.APP)
    assert [m.commit for m in told if m.to == 3] == [index]  # 3 learns its removal committed
    assert 3 not in core.status().progress
    core.tick()
    assert sorted(m.to for m in of_type(drain(core), MsgType.HEARTBEAT)) == [2, 4, 5]


def test_node_with_uncommitted_removal_does_not_depose_the_leader() -> None:
    """Seed 7285 in a network (no pre-vote, no check-quorum): the removal of 3 cannot commit
    while 4 and 5 lag. Node 3 is still a voter of the committed configuration and may campaign;
    if the leader stopped heartbeating it, its elections with ever higher terms would depose
    every leader, and with each leader change the lagging voters' catch-up starts over."""
    net = Network(ids=(1, 2, 3, 4, 5))
    leader = net.elect(1)
    net.isolate(4)
    net.isolate(5)
    index = leader.propose_conf_change(ConfChange(REMOVE, 3))
    net.stabilize()
    removed = net.cores[3]
    assert leader.commit_index < index
    term, sent = leader.term, len(net.sent)
    for _ in range(100):  # ten election timeouts
        for node in (1, 2, 3):
            net.cores[node].tick()
        net.stabilize()
    assert leader.role == Role.LEADER and leader.term == term
    assert removed.role == Role.FOLLOWER and removed.leader == 1 and removed.term == term
    assert removed.conf.voters == (1, 2, 4, 5) and removed.commit_index < index
    assert not of_type(net.sent[sent:], MsgType.VOTE)
    net.heal()
    net.tick_all(2)
    assert leader.commit_index >= index and removed.commit_index >= index
    for _ in range(100):
        net.tick_all()
    assert leader.role == Role.LEADER and leader.term == term  # 3 knows: it never campaigns
    assert not of_type(net.sent[sent:], MsgType.VOTE)
