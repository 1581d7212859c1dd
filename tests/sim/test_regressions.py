"""Seeds that found core bugs (issue 5 on), replayed with the real core: they must keep passing.

Each names its bug; see .coord/sim-findings.md for the causes and fixes.
"""

from __future__ import annotations

import pytest

from raftoral.sim.simulation import run_seed


@pytest.mark.parametrize(
    ("seed", "steps"),
    [
        (86, 3000),  # SnapshotReceiver forgot chunks of a Ready not yet persisted
        (256, 8000),  # a voter whose removal was uncommitted refused to campaign (liveness)
        (434, 8000),  # a chunk staged in the same Ready as an install replaced its bytes
        (528, 8000),  # the same, with a newer compaction's first chunk
        (7285, 4000),  # a node whose removal was uncommitted got no heartbeats and deposed leaders
    ],
)
def test_seed_that_found_a_core_bug(seed: int, steps: int) -> None:
    result = run_seed(seed, steps=steps)
    assert result.ok, result.report()
