"""Durability before counting: the leader counts its own log only after advance(), responses wait
for persistence, committed entries are handed out only once stable locally."""

from __future__ import annotations

from raftoral.raft.types import Entry, Message, MsgType, Role
from tests.unit.raft.helpers import Network, drain, new_core, new_storage, of_type, win_election


def test_leader_does_not_commit_before_its_own_persistence() -> None:
    storage = new_storage((1, 2, 3))
    core = new_core(1, storage=storage)
    win_election(core)
    for peer in (2, 3):
        core.step(Message(MsgType.APP_RESP, 1, peer, term=1, index=1))
    drain(core)
    index = core.propose(b"x")
    rd = core.ready()  # the driver is persisting index 2 ...
    core.step(Message(MsgType.APP_RESP, 1, 2, term=1, index=index))
    # ... 1 of 3 voters has it durably (follower 2); the leader's own copy does not count yet
    assert core.commit_index == 1
    assert core.status().progress[1].match == 1
    storage.save(rd.hard_state, rd.entries, sync=rd.must_sync)
    core.advance(rd)
    assert core.status().progress[1].match == index
    assert core.commit_index == index


def test_single_node_commits_only_after_advance() -> None:
    storage = new_storage((1,))
    core = new_core(1, voters=(1,), storage=storage)
    win_election(core)
    core.propose(b"solo")
    rd = core.ready()
    assert rd.entries[-1].data == b"solo"
    assert rd.committed_entries == ()
    assert core.commit_index == 1
    storage.save(rd.hard_state, rd.entries)
    core.advance(rd)
    assert core.commit_index == 2
    rd = core.ready()
    assert [e.data for e in rd.committed_entries] == [b"solo"]


def test_leader_appends_go_out_before_persisting_follower_acks_after() -> None:
    net = Network()
    leader = net.elect(1)
    leader.propose(b"a")
    rd = leader.ready()
    apps = of_type(rd.messages, MsgType.APP)
    assert len(apps) == 2 and rd.messages_after_persist == ()
    net.storages[1].save(rd.hard_state, rd.entries)
    leader.advance(rd)
    follower = net.cores[2]
    follower.step(next(m for m in apps if m.to == 2))
    frd = follower.ready()
    assert frd.entries == (Entry(1, 2, data=b"a"),)
    assert frd.messages == ()
    assert [(m.type, m.index) for m in frd.messages_after_persist] == [(MsgType.APP_RESP, 2)]


def test_step_between_ready_and_advance_with_truncation() -> None:
    storage = new_storage((1, 2, 3))
    core = new_core(1, storage=storage)
    old = (Entry(1, 1), Entry(1, 2), Entry(1, 3))
    core.step(Message(MsgType.APP, 1, 2, term=1, entries=old))
    rd1 = core.ready()
    # a new leader of term 2 overwrites 2..3 while rd1 is being written
    new = (Entry(2, 2), Entry(2, 3))
    core.step(Message(MsgType.APP, 1, 3, term=2, index=1, log_term=1, entries=new, commit=3))
    storage.save(rd1.hard_state, rd1.entries, sync=rd1.must_sync)
    core.advance(rd1)
    rd2 = core.ready()
    assert rd2.entries == new
    # rd1's completion is ignored (its last entry was replaced), so nothing counts as durable
    # until the new entries are: committed entries wait one more round
    assert rd2.committed_entries == ()
    storage.save(rd2.hard_state, rd2.entries, sync=rd2.must_sync)
    core.advance(rd2)
    rd3 = core.ready()
    assert rd3.committed_entries == (Entry(1, 1), *new)
    assert [storage.term(i) for i in (1, 2, 3)] == [1, 2, 2]


def test_candidate_with_unpersisted_vote_is_not_leader_even_with_all_grants() -> None:
    core = new_core(1)
    core.campaign()
    rd = core.ready()
    core.step(Message(MsgType.VOTE_RESP, 1, 2, term=1))
    assert core.role == Role.CANDIDATE  # 1 grant + own vote not yet durable
    core.step(Message(MsgType.VOTE_RESP, 1, 3, term=1))
    assert core.role == Role.LEADER  # a majority without counting itself
    core.advance(rd)
    assert core.role == Role.LEADER


def test_leader_self_match_starts_at_durable_index() -> None:
    storage = new_storage((1, 2, 3))
    core = new_core(1, storage=storage)
    core.step(Message(MsgType.APP, 1, 2, term=1, entries=(Entry(1, 1), Entry(1, 2))))
    rd = core.ready()  # 1..2 in flight to disk
    core.campaign()
    core.step(Message(MsgType.VOTE_RESP, 1, 2, term=2))
    core.step(Message(MsgType.VOTE_RESP, 1, 3, term=2))
    assert core.role == Role.LEADER
    assert core.status().progress[1].match == 0
    storage.save(rd.hard_state, rd.entries, sync=rd.must_sync)
    core.advance(rd)
    assert core.status().progress[1].match == 2
    drain(core)
    assert core.status().progress[1].match == 3  # its no-op, once persisted
