"""Raft §5.2: leader election — timeouts, vote requests, one vote per term, winning and losing."""

from __future__ import annotations

import pytest

from raftoral.raft.types import Entry, HardState, Message, MsgType, Role
from tests.unit.raft.helpers import (
    Network,
    drain,
    new_core,
    new_storage,
    of_type,
    persist,
    win_election,
)


class RecordingRng:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def randrange(self, start: int, stop: int) -> int:
        self.calls.append((start, stop))
        return stop - 1


def test_follower_campaigns_after_randomised_timeout() -> None:
    core = new_core(1, rng_extra=3)
    for _ in range(12):
        core.tick()
    assert core.role == Role.FOLLOWER
    core.tick()
    assert (core.role, core.term, core.vote) == (Role.CANDIDATE, 1, 1)
    votes = of_type(drain(core), MsgType.VOTE)
    assert sorted(m.to for m in votes) == [2, 3]
    assert all((m.term, m.index, m.log_term) == (1, 0, 0) for m in votes)


def test_election_timeout_is_drawn_from_rng_in_range() -> None:
    from raftoral.raft.config import RaftConfig
    from raftoral.raft.core import RaftCore

    rng = RecordingRng()
    core = RaftCore(RaftConfig(node_id=1, election_tick=10), new_storage((1, 2, 3)), rng)
    assert rng.calls == [(10, 20)]
    for _ in range(18):
        core.tick()
    assert core.role == Role.FOLLOWER
    core.tick()
    assert core.role == Role.PRE_CANDIDATE


def test_candidate_restarts_election_on_timeout() -> None:
    core = new_core(1)
    core.campaign()
    drain(core)
    for _ in range(10):
        core.tick()
    assert (core.role, core.term) == (Role.CANDIDATE, 2)


@pytest.mark.parametrize(
    ("size", "grants", "rejects", "expected"),
    [
        (1, set(), set(), Role.LEADER),
        (3, {2, 3}, set(), Role.LEADER),
        (3, {2}, set(), Role.LEADER),
        (5, {2, 3, 4, 5}, set(), Role.LEADER),
        (5, {2, 3}, set(), Role.LEADER),
        (5, {2}, set(), Role.CANDIDATE),
        (5, {2}, {3, 4}, Role.CANDIDATE),
        (5, {2}, {3, 4, 5}, Role.FOLLOWER),
        (3, set(), {2, 3}, Role.FOLLOWER),
        (3, set(), set(), Role.CANDIDATE),
    ],
)
def test_election_in_one_round(
    size: int, grants: set[int], rejects: set[int], expected: Role
) -> None:
    core = new_core(1, voters=range(1, size + 1))
    core.campaign()
    drain(core)
    for peer in sorted(grants | rejects):
        core.step(Message(MsgType.VOTE_RESP, 1, peer, term=1, reject=peer in rejects))
    assert core.role == expected
    assert core.term == 1


def test_candidate_counts_its_own_vote_only_after_persisting_it() -> None:
    core = new_core(1, voters=(1,))
    core.campaign()
    rd = core.ready()
    assert rd.hard_state == HardState(1, 1, 0)
    assert core.role == Role.CANDIDATE  # the self-vote is not durable yet
    core.advance(rd)
    assert core.role == Role.LEADER


def test_self_vote_persisted_in_later_ready_still_counts() -> None:
    core = new_core(1, voters=(1, 2, 3))
    core.step(Message(MsgType.HEARTBEAT, 1, 2, term=1))
    rd = core.ready()  # outstanding while we campaign
    core.campaign()
    core.step(Message(MsgType.VOTE_RESP, 1, 2, term=2))
    core.advance(rd)
    assert core.role == Role.CANDIDATE
    drain(core)
    assert core.role == Role.LEADER


@pytest.mark.parametrize(
    ("vote", "candidate", "reject"),
    [(0, 2, False), (0, 3, False), (2, 2, False), (3, 2, True), (2, 3, True)],
)
def test_follower_votes_once_per_term(vote: int, candidate: int, reject: bool) -> None:
    storage = new_storage((1, 2, 3))
    storage.save(HardState(1, vote, 0), [])
    core = new_core(1, storage=storage)
    core.step(Message(MsgType.VOTE, 1, candidate, term=1))
    resp = of_type(drain(core), MsgType.VOTE_RESP)
    assert [(m.to, m.term, m.reject) for m in resp] == [(candidate, 1, reject)]


def test_vote_response_waits_for_persistence_and_vote_is_durable() -> None:
    core = new_core(1)
    core.step(Message(MsgType.VOTE, 1, 2, term=4))
    rd = core.ready()
    assert rd.messages == ()
    assert [m.type for m in rd.messages_after_persist] == [MsgType.VOTE_RESP]
    assert rd.hard_state == HardState(4, 2, 0)
    assert rd.must_sync


def test_candidate_falls_back_on_append_from_leader_of_same_term() -> None:
    core = new_core(1)
    core.campaign()
    drain(core)
    core.step(Message(MsgType.APP, 1, 2, term=1))
    assert (core.role, core.term, core.leader) == (Role.FOLLOWER, 1, 2)


def test_candidate_ignores_append_from_older_term() -> None:
    core = new_core(1)
    core.campaign()
    core.campaign()
    drain(core)
    core.step(Message(MsgType.APP, 1, 2, term=1))
    assert (core.role, core.term) == (Role.CANDIDATE, 2)


def test_leader_appends_noop_of_its_term() -> None:
    core = new_core(1)
    msgs = win_election(core)
    assert core.last_index == 1
    apps = of_type(msgs, MsgType.APP)
    assert {m.to for m in apps} == {2, 3}
    assert all(m.entries == (Entry(1, 1),) for m in apps)


def test_stale_vote_response_from_older_term_is_ignored() -> None:
    core = new_core(1)
    core.campaign()
    core.campaign()
    drain(core)
    core.step(Message(MsgType.VOTE_RESP, 1, 2, term=1))
    core.step(Message(MsgType.VOTE_RESP, 1, 3, term=1))
    assert core.role == Role.CANDIDATE


def test_cluster_elects_exactly_one_leader() -> None:
    net = Network(ids=range(1, 6))
    net.tick_all(25)
    leaders = [c.id for c in net.cores.values() if c.role == Role.LEADER]
    assert leaders == [1]
    assert {c.leader for c in net.cores.values()} == {1}
    assert {c.term for c in net.cores.values()} == {1}


def test_new_leader_elected_after_leader_fails() -> None:
    net = Network()
    net.elect(1)
    net.isolate(1)
    net.tick_all(25)
    assert net.cores[2].role == Role.LEADER
    assert net.cores[2].term == 2
    net.heal()
    net.tick_all(2)
    assert net.cores[1].role == Role.FOLLOWER
    assert net.cores[1].leader == 2


def test_restarted_node_keeps_term_and_vote() -> None:
    net = Network()
    net.elect(1)
    storage = net.storages[2]
    reborn = new_core(2, storage=storage)
    assert (reborn.term, reborn.vote) == (1, 1)
    reborn.step(Message(MsgType.VOTE, 2, 3, term=1))
    _, msgs = persist(reborn, storage)
    assert [(m.type, m.reject) for m in msgs] == [(MsgType.VOTE_RESP, True)]
