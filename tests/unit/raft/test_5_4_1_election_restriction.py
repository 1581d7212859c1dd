"""Raft §5.4.1: a vote goes only to a candidate whose log is at least as up to date as ours."""

from __future__ import annotations

import pytest

from raftoral.raft.types import Message, MsgType, Role
from tests.unit.raft.helpers import Network, drain, new_core, of_type, storage_with_log


@pytest.mark.parametrize(
    ("ours", "cand_index", "cand_term", "reject"),
    [
        # same last term: the longer log wins
        ([1, 1], 2, 1, False),
        ([1, 1], 3, 1, False),
        ([1, 1], 1, 1, True),
        # candidate's last term is higher: up to date whatever its length
        ([1, 1], 1, 2, False),
        ([1, 1], 3, 2, False),
        # candidate's last term is lower: never
        ([2, 2], 5, 1, True),
        ([1, 2], 9, 1, True),
        ([], 0, 0, False),
    ],
)
def test_voter_grants_only_up_to_date_candidates(
    ours: list[int], cand_index: int, cand_term: int, reject: bool
) -> None:
    core = new_core(1, storage=storage_with_log((1, 2, 3), ours, term=2))
    core.step(Message(MsgType.VOTE, 1, 2, term=3, index=cand_index, log_term=cand_term))
    resp = of_type(drain(core), MsgType.VOTE_RESP)
    assert [(m.reject, m.term) for m in resp] == [(reject, 3)]
    assert core.vote == (0 if reject else 2)


def test_vote_request_carries_last_index_and_term() -> None:
    core = new_core(1, storage=storage_with_log((1, 2, 3), [1, 1, 2], term=2))
    core.campaign()
    votes = of_type(drain(core), MsgType.VOTE)
    assert {(m.to, m.term, m.index, m.log_term) for m in votes} == {(2, 3, 3, 2), (3, 3, 3, 2)}


def test_node_with_stale_log_cannot_win() -> None:
    storages = {
        1: storage_with_log((1, 2, 3), [1], term=1),
        2: storage_with_log((1, 2, 3), [1, 1], term=1),
        3: storage_with_log((1, 2, 3), [1, 1], term=1),
    }
    net = Network(storages=storages)
    net.elect(1)
    assert net.cores[1].role != Role.LEADER
    net.elect(2)
    assert net.cores[2].role == Role.LEADER
    assert net.log_terms(1) == [1, 1, net.cores[2].term]


def test_leader_completeness_committed_entry_survives_leader_change() -> None:
    net = Network()
    leader = net.elect(1)
    leader.propose(b"keep")
    net.stabilize()
    net.isolate(1)
    net.tick_all(30)
    new_leader = next(c for c in net.cores.values() if c.role == Role.LEADER and c.id != 1)
    assert b"keep" in net.data_applied(new_leader.id)
