"""The checker catches planted bugs: each test searches a bounded seed range for a violation
and asserts the right invariant fired (so it fails if the checker were switched off).
"""

from __future__ import annotations

from raftoral.sim.faults import FaultProfile
from raftoral.sim.node import CoreFactory
from raftoral.sim.simulation import SimResult, run_seed
from tests.sim.planted import (
    FIGURE_8,
    STALE_READS,
    DoubleVoteCore,
    EagerConfChangeCore,
    NoElectionCore,
    OldTermCommitCore,
    UnconfirmedReadCore,
)


def first_failure(
    factory: CoreFactory, seeds: range, steps: int, profile: FaultProfile | None = None
) -> SimResult:
    for seed in seeds:
        result = run_seed(seed, steps=steps, core_factory=factory, profile=profile)
        if not result.ok:
            return result
    raise AssertionError(f"no violation detected in seeds {seeds.start}..{seeds.stop - 1}")


def test_double_vote_breaks_election_safety() -> None:
    result = first_failure(DoubleVoteCore, range(200), steps=3000)
    assert result.violation is not None
    assert result.violation.invariant == "election_safety", result.report()
    assert "both lead term" in result.violation.detail


def test_old_term_commit_loses_a_committed_entry() -> None:
    result = first_failure(OldTermCommitCore, range(300), steps=20000, profile=FIGURE_8)
    assert result.violation is not None
    assert result.violation.invariant in {
        "leader_completeness",
        "state_machine_safety",
        "acked_proposal_lost",
    }, result.report()


def test_no_election_breaks_liveness() -> None:
    result = run_seed(3, steps=500, core_factory=NoElectionCore)
    assert result.violation is not None
    assert result.violation.invariant == "liveness"


def test_unconfirmed_read_index_returns_a_stale_read() -> None:
    result = first_failure(UnconfirmedReadCore, range(60), steps=5000, profile=STALE_READS)
    assert result.violation is not None
    assert result.violation.invariant == "linearizable_read", result.report()
    assert "older than index" in result.violation.detail


def test_second_pending_conf_change_is_caught() -> None:
    result = first_failure(EagerConfChangeCore, range(60), steps=3000)
    assert result.violation is not None
    assert result.violation.invariant == "conf_change_pending", result.report()


def test_the_correct_core_passes_the_same_seeds() -> None:
    """The planted-bug seeds are not simply hostile: the real core passes them."""
    for seed in range(5):
        assert run_seed(seed, steps=20000, profile=FIGURE_8).ok
        assert run_seed(seed, steps=5000, profile=STALE_READS).ok
        assert run_seed(seed, steps=3000).ok
    assert run_seed(3, steps=500).ok
