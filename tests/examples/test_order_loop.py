"""examples/order_loop.py runs the 1000-checkpoint loop on an embedded node and prints the total;
a rerun with the same id returns the committed result."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from raftoral.demo.app import line_price
from tests.conftest import ROOT, die_with_parent, free_ports

EXAMPLE = ROOT / "examples" / "order_loop.py"


def run_loop(data_dir: Path, port: int, lines: int) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--data-dir", str(data_dir),
         "--listen", f"127.0.0.1:{port}", "--lines", str(lines)],
        capture_output=True, text=True, timeout=90, preexec_fn=die_with_parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_loop_sums_every_line_and_a_rerun_returns_the_committed_total(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    expected = sum(line_price(i) for i in range(300))
    first = run_loop(tmp_path / "node", port, lines=300)
    assert f"total: {expected} cents over 300 checkpoints" in first
    assert "checkpoints/s" in first
    again = run_loop(tmp_path / "node", port, lines=300)
    assert f"total: {expected} cents" in again
