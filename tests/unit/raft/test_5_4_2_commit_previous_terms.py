"""Raft §5.4.2 and Figure 8: a leader commits entries of earlier terms only by committing one of
its own term; counting replicas of an old-term entry is not enough."""

from __future__ import annotations

import pytest

from raftoral.raft.core import RaftCore
from raftoral.raft.types import Message, MsgType, Role
from tests.unit.raft.helpers import Network, drain, new_core, storage_with_log, win_election


class CountsOldTerms(RaftCore):
    """A planted bug: commit whatever a majority holds, whatever its term."""

    def _maybe_commit(self) -> bool:
        acked = {i: pr.match for i, pr in self._progress.items()}
        index = self._voters.committed_index(acked)
        if index > self._log.committed:
            self._log.commit_to(index)
            return True
        return False


@pytest.mark.parametrize(("acked", "commit"), [(1, 0), (2, 0), (3, 3)])
def test_leader_only_commits_log_from_current_term(acked: int, commit: int) -> None:
    core = new_core(1, storage=storage_with_log((1, 2, 3), [1, 2], term=2))
    win_election(core)  # term 3, no-op at index 3
    drain(core)
    core.step(Message(MsgType.APP_RESP, 1, 2, term=3, index=acked))
    assert core.commit_index == commit


def figure_8(core_class: type[RaftCore]) -> Network:
    """Replays Figure 8 (a)-(d) on five nodes and returns the network after (d)."""
    voters = (1, 2, 3, 4, 5)
    storages = {
        1: storage_with_log(voters, [1, 2], term=3, commit=1),  # (a) leader of term 2
        2: storage_with_log(voters, [1, 2], term=2, commit=1),
        3: storage_with_log(voters, [1], term=3, vote=5, commit=1),  # (b) voted S5 in term 3
        4: storage_with_log(voters, [1], term=3, vote=5, commit=1),
        5: storage_with_log(voters, [1, 3], term=4, commit=1),  # since heard of term 4
    }
    net = Network(ids=voters, storages=storages, core_class=core_class, max_size_per_msg=0)
    # (c) S1 leads term 4 with S2 and S3; S3 receives index 2 but nothing of term 4.
    for far in (4, 5):
        net.cut_between(1, far)
    net.drop = lambda m: m.to == 3 and bool(m.entries) and net.cores[3].last_index >= 2
    net.elect(1)
    assert (net.cores[1].role, net.cores[1].term) == (Role.LEADER, 4)
    assert net.log_terms(3) == [1, 2]
    # (d) S1 crashes; S5 wins term 5 with S3 and S4 and overwrites index 2.
    net.drop = lambda m: False
    net.heal()
    net.isolate(1)
    net.cores[5].campaign()
    net.run(50)  # the buggy core's logs disagree on committed entries: it may never go quiet
    assert net.cores[5].role == Role.LEADER
    return net


def applied_conflicts(net: Network) -> list[int]:
    """Indexes that two nodes applied with different entries (state machine safety)."""
    seen: dict[int, tuple[int, bytes]] = {}
    bad = []
    for entries in net.applied.values():
        for e in entries:
            if seen.setdefault(e.index, (e.term, e.data)) != (e.term, e.data):
                bad.append(e.index)
    return bad


def test_figure_8_old_term_entry_is_not_committed_by_counting() -> None:
    net = figure_8(RaftCore)
    net.stabilize()
    assert net.cores[1].commit_index == 1
    assert applied_conflicts(net) == []
    assert net.log_terms(3)[:2] == [1, 3]


def test_figure_8_planted_bug_breaks_state_machine_safety() -> None:
    net = figure_8(CountsOldTerms)
    assert set(applied_conflicts(net)) == {2}
