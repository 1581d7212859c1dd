"""Raft §5.3: log replication — appends, consistency check, conflicts, commit, batching."""

from __future__ import annotations

import pytest

from raftoral.raft.core import RaftCore
from raftoral.raft.types import Entry, HardState, Message, MsgType, Role
from tests.unit.raft.helpers import (
    Network,
    drain,
    new_core,
    new_storage,
    of_type,
    storage_with_log,
    win_election,
)


def replicating_leader(**cfg: object) -> tuple[RaftCore, list[Message]]:
    """Leader 1 of (1, 2, 3) at term 1 with both followers acked the no-op (replicate state)."""
    core = new_core(1, **cfg)
    win_election(core)
    for peer in (2, 3):
        core.step(Message(MsgType.APP_RESP, 1, peer, term=1, index=1))
    return core, drain(core)


def test_leader_replicates_proposal_to_every_follower() -> None:
    core, _ = replicating_leader()
    assert core.propose(b"a") == 2
    rd = core.ready()
    assert rd.entries == (Entry(1, 2, data=b"a"),)
    apps = of_type(rd.messages, MsgType.APP)
    assert sorted(m.to for m in apps) == [2, 3]
    for m in apps:
        assert (m.index, m.log_term, m.commit, m.entries) == (1, 1, 1, rd.entries)


def test_leader_commits_once_a_majority_has_the_entry() -> None:
    core, _ = replicating_leader()
    core.propose(b"a")
    drain(core)
    assert core.commit_index == 1
    core.step(Message(MsgType.APP_RESP, 1, 2, term=1, index=2))
    assert core.commit_index == 2
    rd = core.ready()
    assert [e.data for e in rd.committed_entries] == [b"a"]
    # the new commit index goes out to followers at once
    assert {(m.to, m.commit) for m in of_type(rd.messages, MsgType.APP)} == {(2, 2), (3, 2)}


@pytest.mark.parametrize(
    ("size", "acks", "committed"),
    [(1, set(), True), (3, set(), False), (3, {2}, True), (5, {2}, False), (5, {2, 3}, True)],
)
def test_leader_acknowledges_commit(size: int, acks: set[int], committed: bool) -> None:
    core = new_core(1, voters=range(1, size + 1))
    win_election(core)
    for peer in range(2, size + 1):
        core.step(Message(MsgType.APP_RESP, 1, peer, term=1, index=1))
    drain(core)
    index = core.propose(b"x")
    drain(core)
    for peer in acks:
        core.step(Message(MsgType.APP_RESP, 1, peer, term=1, index=index))
    assert (core.commit_index == index) is committed


def test_leader_commits_preceding_entries_of_current_term() -> None:
    storage = storage_with_log((1, 2, 3), [1, 2], term=2)
    core = new_core(1, storage=storage)
    win_election(core)  # term 3, no-op at 3
    core.propose(b"x")  # 4
    drain(core)
    core.step(Message(MsgType.APP_RESP, 1, 2, term=3, index=4))
    assert core.commit_index == 4
    rd = core.ready()
    assert [e.index for e in rd.committed_entries] == [1, 2, 3, 4]


def test_follower_commits_from_append_commit_field() -> None:
    storage = new_storage((1, 2, 3))
    core = new_core(1, storage=storage)
    ents = (Entry(1, 1, data=b"a"), Entry(1, 2, data=b"b"))
    core.step(Message(MsgType.APP, 1, 2, term=1, entries=ents, commit=1))
    assert core.commit_index == 1
    rd = core.ready()
    storage.save(rd.hard_state, rd.entries)
    core.advance(rd)
    assert rd.committed_entries == ()  # not stable locally yet
    assert rd.messages == ()
    assert [(m.type, m.index) for m in rd.messages_after_persist] == [(MsgType.APP_RESP, 2)]
    drain(core)
    assert core.applied_index == 1


@pytest.mark.parametrize(
    ("prev_term", "prev_index", "reject", "hint", "hint_term"),
    [
        (0, 0, False, 0, 0),
        (1, 1, False, 0, 0),
        (2, 2, False, 0, 0),
        (1, 2, True, 1, 1),  # term mismatch at 2: hint at the last index with term <= 1
        (3, 3, True, 2, 2),  # beyond our log: hint our last index
    ],
)
def test_follower_consistency_check(
    prev_term: int, prev_index: int, reject: bool, hint: int, hint_term: int
) -> None:
    core = new_core(1, storage=storage_with_log((1, 2, 3), [1, 2], term=2))
    core.step(Message(MsgType.APP, 1, 2, term=2, index=prev_index, log_term=prev_term))
    resp = of_type(drain(core), MsgType.APP_RESP)
    assert len(resp) == 1
    assert resp[0].reject is reject
    if reject:
        assert (resp[0].index, resp[0].reject_hint, resp[0].log_term) == (
            prev_index,
            hint,
            hint_term,
        )


@pytest.mark.parametrize(
    ("prev_index", "prev_term", "ents", "want_terms"),
    [
        (2, 2, [(3, 3)], [1, 2, 3]),
        (1, 1, [(2, 3), (3, 4)], [1, 3, 4]),
        (0, 0, [(1, 1)], [1, 2]),
        (0, 0, [(1, 3)], [3]),
    ],
)
def test_follower_appends_and_truncates_conflicts(
    prev_index: int, prev_term: int, ents: list[tuple[int, int]], want_terms: list[int]
) -> None:
    storage = storage_with_log((1, 2, 3), [1, 2], term=2)
    core = new_core(1, storage=storage)
    entries = tuple(Entry(t, i) for i, t in ents)
    core.step(Message(MsgType.APP, 1, 2, term=4, index=prev_index, log_term=prev_term,
                      entries=entries))
    drain(core)
    assert [core._log.term(i) for i in range(1, core.last_index + 1)] == want_terms
    assert storage.last_index() == len(want_terms)
    assert [storage.term(i) for i in range(1, len(want_terms) + 1)] == want_terms


FIG7_LEADER = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]
FIG7_FOLLOWERS = {
    "a": [1, 1, 1, 4, 4, 5, 5, 6, 6],
    "b": [1, 1, 1, 4],
    "c": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    "d": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    "e": [1, 1, 1, 4, 4, 4, 4],
    "f": [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    "empty": [],
}


@pytest.mark.parametrize("case", sorted(FIG7_FOLLOWERS))
def test_leader_brings_follower_log_in_line_figure_7(case: str) -> None:
    storages = {
        1: storage_with_log((1, 2, 3), FIG7_LEADER, term=8),
        2: storage_with_log((1, 2, 3), FIG7_FOLLOWERS[case], term=8),
    }
    net = Network(storages=storages)
    net.isolate(3)
    leader = net.cores[1]
    leader.campaign()
    drain(leader)
    leader.step(Message(MsgType.VOTE_RESP, 1, 3, term=9))  # the third vote, faked
    assert leader.role == Role.LEADER
    net.stabilize()
    assert net.log_terms(2) == [*FIG7_LEADER, 9]
    assert leader.commit_index == 11
    assert net.cores[2].commit_index == 11
    rejects = [m for m in net.sent if m.type == MsgType.APP_RESP and m.reject]
    assert len(rejects) <= 3  # fast backtracking: at most about one probe per divergent term


def test_proposals_between_readies_are_batched_into_one_append() -> None:
    core, _ = replicating_leader()
    for i in range(50):
        core.propose(b"p%d" % i)
    rd = core.ready()
    assert len(rd.entries) == 50
    apps = of_type(rd.messages, MsgType.APP)
    assert len(apps) == 2
    assert all(len(m.entries) == 50 for m in apps)


def test_propose_batch_returns_consecutive_indexes() -> None:
    core, _ = replicating_leader()
    assert core.propose_batch([b"a", b"b", b"c"]) == [2, 3, 4]
    assert core.last_index == 4


def test_append_messages_respect_max_size_per_msg() -> None:
    core, _ = replicating_leader(max_size_per_msg=100)
    core.propose_batch([b"x" * 40] * 7)
    apps = [m for m in of_type(drain(core), MsgType.APP) if m.to == 2]
    assert [len(m.entries) for m in apps] == [2, 2, 2, 1]
    assert [m.index for m in apps] == [1, 3, 5, 7]


def test_oversized_entry_is_still_sent_alone() -> None:
    core, _ = replicating_leader(max_size_per_msg=10)
    core.propose_batch([b"y" * 50, b"z"])
    apps = [m for m in of_type(drain(core), MsgType.APP) if m.to == 2]
    assert [len(m.entries) for m in apps] == [1, 1]


def test_committed_entries_per_ready_are_bounded() -> None:
    net = Network(max_committed_size_per_ready=25)
    leader = net.elect(1)
    leader.propose_batch([b"d" * 10] * 6)
    sizes: list[int] = []
    net.stabilize()
    # replay: each Ready of a follower carried at most 2 entries of 10 bytes (plus no-op)
    follower = new_core(2, storage=net.storages[2], max_committed_size_per_ready=25)
    follower.step(Message(MsgType.HEARTBEAT, 2, 1, term=1, commit=7))
    while follower.has_ready():
        rd = follower.ready()
        sizes.append(sum(len(e.data) for e in rd.committed_entries))
        follower.advance(rd)
    assert sizes[:1] == [20]
    assert sum(sizes) == 60
    assert max(sizes) <= 25
    assert net.data_applied(3) == [b"d" * 10] * 6


def test_heartbeat_does_not_commit_beyond_follower_match() -> None:
    net = Network()
    leader = net.elect(1)
    net.isolate(3)
    leader.propose(b"a")
    net.stabilize()
    beats = []
    leader.tick()
    for m in of_type(drain(leader), MsgType.HEARTBEAT):
        beats.append((m.to, m.commit))
    assert sorted(beats) == [(2, 2), (3, 1)]


def test_follower_restart_reapplies_from_applied_index() -> None:
    net = Network()
    leader = net.elect(1)
    leader.propose_batch([b"a", b"b"])
    net.stabilize()
    reborn = new_core(2, storage=net.storages[2], applied=1)
    assert reborn.commit_index == 3
    rd = reborn.ready()
    assert [e.data for e in rd.committed_entries] == [b"a", b"b"]


def test_stale_append_below_commit_gets_commit_index() -> None:
    storage = new_storage((1, 2, 3))
    storage.save(HardState(2, 0, 2), [Entry(1, 1), Entry(2, 2)])
    core = new_core(1, storage=storage)
    core.step(Message(MsgType.APP, 1, 2, term=2, index=0, log_term=0, entries=(Entry(1, 1),)))
    resp = of_type(drain(core), MsgType.APP_RESP)
    assert [(m.reject, m.index) for m in resp] == [(False, 2)]
