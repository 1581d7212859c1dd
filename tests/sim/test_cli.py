"""The `python -m raftoral.sim` command: seed ranges, exit codes, summary and replay line.

Runs in-process through `main(argv)` with few steps, plus one real subprocess for `-m`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from raftoral.sim import cli
from raftoral.sim.invariants import Violation
from raftoral.sim.simulation import SimResult


def test_parse_seeds() -> None:
    assert cli.parse_seeds("42") == range(42, 43)
    assert cli.parse_seeds("3..7") == range(3, 8)
    for bad in ("x", "5..3", "1..y"):
        with pytest.raises(argparse.ArgumentTypeError):
            cli.parse_seeds(bad)


def test_passing_seeds_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--seeds", "0..3", "--steps", "500", "--nodes", "5"]) == 0
    out = capsys.readouterr().out
    assert "4 (4 passed, 0 failed)" in out and "seeds/s" in out and "invariant checks" in out


def test_a_violation_exits_one_with_replay(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(seed: int, **kwargs: object) -> SimResult:
        violation = Violation("election_safety", "nodes 1 and 2 both lead term 3")
        return SimResult(seed, 3, 100, violation, 10, 50, 5, "d", recent=["  10 tick n1"])

    monkeypatch.setattr(cli, "run_seed", failing)
    assert cli.main(["--seeds", "9", "--steps", "100"]) == 1
    out = capsys.readouterr().out
    assert "election_safety" in out and "both lead term 3" in out and "tick n1" in out
    assert "python -m raftoral.sim --seeds 9 --nodes 3 --steps 100 -v" in out


def test_module_entry_point_verbose() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "raftoral.sim", "--seeds", "5", "--steps", "200", "-v"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "tick n1" in proc.stdout and "deliver VOTE" in proc.stdout


def test_jobs_give_the_same_results(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--seeds", "0..5", "--steps", "300", "--jobs", "2"]) == 0
    parallel = capsys.readouterr().out
    assert cli.main(["--seeds", "0..5", "--steps", "300"]) == 0
    serial = capsys.readouterr().out
    events = [line for line in parallel.splitlines() if "events" in line]
    assert events == [line for line in serial.splitlines() if "events" in line]
