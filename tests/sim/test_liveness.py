"""Liveness after healing: once partitions heal and crashed nodes restart, a leader is elected
and a fresh proposal is applied on every node within the simulator's bound, even after chaos.
"""

from __future__ import annotations

from collections import Counter

import pytest

from raftoral.sim.faults import FaultProfile
from raftoral.sim.network import LinkFaults
from raftoral.sim.simulation import run_seed

# Everything at once and often, with long outages, right up to the moment of healing.
BRUTAL = FaultProfile(
    links=LinkFaults(loss=0.15, dup=0.05, max_delay=10, slow=0.1, slow_max=200),
    partition_every=100,
    crash_every=100,
    propose_every=5,
    max_outage=800,
    fsync_max=8,
    pre_vote=True,
    check_quorum=True,
    heartbeat_tick=1,
    max_inflight_msgs=1,
    max_size_per_msg=1,
    compact_every=30,
    snapshot_pad=500,
    max_snapshot_chunk=16,
    snapshot_window=1,
    member_every=100,
    read_every=10,
)


@pytest.mark.parametrize("nodes", [3, 5])
def test_recovers_after_brutal_chaos(nodes: int) -> None:
    totals: Counter[str] = Counter()
    for seed in range(15):
        result = run_seed(seed, nodes=nodes, steps=5000, profile=BRUTAL)
        assert result.ok, result.report()
        assert result.stats["crashes"] > 0 and result.stats["liveness_probes"] > 0
        totals.update(result.stats)
    for name in ("snapshots_installed", "crashes_mid_transfer", "conf_add_learner", "reads_served"):
        assert totals[name] > 0, name


@pytest.mark.parametrize("pre_vote", [False, True])
def test_recovers_without_check_quorum(pre_vote: bool) -> None:
    profile = FaultProfile(**{**BRUTAL.__dict__, "pre_vote": pre_vote, "check_quorum": False})
    for seed in range(10):
        result = run_seed(seed, steps=5000, profile=profile)
        assert result.ok, result.report()
