"""The long run: 10,000 seeds, by hand only (`pytest -m slow tests/sim/test_slow.py`).

Takes roughly an hour on one core; figures go in docs/simulator.md. Prefer the CLI with --jobs.
"""

from __future__ import annotations

import pytest

from raftoral.sim.simulation import run_seed


@pytest.mark.slow
@pytest.mark.timeout(0)
def test_ten_thousand_seeds() -> None:
    failures = []
    for seed in range(10_000):
        result = run_seed(seed, nodes=3 if seed % 4 else 5, steps=4000)
        if not result.ok:
            failures.append(result.report())
    assert not failures, "\n\n".join(failures[:5])
