"""examples/embedded_node.py as a subprocess (free ports, a tmp data dir, a deadline): it prints the
receipt and exits 0; run again on the same data dir it prints the same committed receipt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, die_with_parent, free_ports

DEADLINE = 60.0  # seconds per run


def run_example(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    node_port, service_port = free_ports(2)
    command = [sys.executable, "examples/embedded_node.py", "--data-dir", str(data_dir),
               "--listen", f"127.0.0.1:{node_port}", "--service", f"127.0.0.1:{service_port}",
               *args]  # fmt: skip
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=DEADLINE,
        preexec_fn=die_with_parent,
    )  # fmt: skip


def receipt_of(done: subprocess.CompletedProcess[str]) -> dict[str, object]:
    lines = [line for line in done.stdout.splitlines() if line.startswith("receipt: ")]
    assert len(lines) == 1, done.stdout + done.stderr
    receipt: dict[str, object] = json.loads(lines[0].removeprefix("receipt: "))
    return receipt


def test_the_embedded_node_runs_an_order_and_stops(tmp_path: Path) -> None:
    first = run_example(tmp_path / "node", "--order-id", "o-9")
    assert first.returncode == 0, first.stdout + first.stderr
    receipt = receipt_of(first)
    assert receipt["order_id"] == "o-9" and receipt["total"] == 600
    assert str(receipt["charge_id"]).startswith("ch_")
    again = run_example(tmp_path / "node", "--order-id", "o-9")
    assert again.returncode == 0, again.stdout + again.stderr
    assert receipt_of(again) == receipt


def test_a_rejected_order_prints_the_error_and_exits_1(tmp_path: Path) -> None:
    done = run_example(tmp_path / "node", "--order-id", "o-10", "--item", "gum")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "cannot sell 2 x 'gum'" in str(receipt_of(done)["error"])
