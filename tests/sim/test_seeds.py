"""Seeded simulations mixing every fault and action: 400 three-node and 150 five-node seeds.

Each seed runs 8,000 chaos steps, heals, then the committed configuration must elect and apply a
fresh proposal everywhere. About 90 s in all on one core; the slow test runs 10,000 seeds.
"""

from __future__ import annotations

import pytest

from raftoral.sim.simulation import SimResult, run_seed

CHUNK = 50
STEPS = 8_000


def assert_all_pass(results: list[SimResult]) -> None:
    failures = [result.report() for result in results if not result.ok]
    assert not failures, "\n\n".join(failures)


def run_chunk(first: int, nodes: int) -> list[SimResult]:
    return [run_seed(seed, nodes=nodes, steps=STEPS) for seed in range(first, first + CHUNK)]


@pytest.mark.parametrize("first", range(0, 400, CHUNK))
def test_three_nodes(first: int) -> None:
    assert_all_pass(run_chunk(first, nodes=3))


@pytest.mark.parametrize("first", range(0, 150, CHUNK))
def test_five_nodes(first: int) -> None:
    assert_all_pass(run_chunk(first, nodes=5))


def test_faults_are_injected_and_checked() -> None:
    """The mix really injects every kind of fault and runs the checks (guards the fault model)."""
    results = [run_seed(seed, nodes=3, steps=3000) for seed in range(20)]
    assert_all_pass(results)
    kinds = {name for result in results for name, count in result.stats.items() if count}
    expected = {
        "msg_lost",
        "msg_duplicated",
        "msg_delayed",
        "msg_dropped_by_partition",
        "partition_isolate",
        "partition_split",
        "partition_one_way",
        "crashes",
        "restarts",
        "proposals_accepted",
        "proposals_dropped",
        "liveness_probes",
        "compactions",
        "snapshots_installed",
        "snapshot_chunks_staged",
        "crashes_mid_transfer",
        "restarts_mid_transfer",
        "conf_add_learner",
        "conf_add_voter",
        "conf_promote",
        "conf_remove_learner",
        "conf_remove_follower",
        "conf_remove_leader",
        "conf_rejected",
        "nodes_retired",
        "transfers",
        "reads_invoked",
        "reads_served",
    }
    assert expected <= kinds, sorted(expected - kinds)
    assert all(result.checks > 1000 for result in results)
