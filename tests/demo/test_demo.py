"""`raftoral demo` as a user runs it: workflows on real node processes, a node SIGKILLed and
restarted, every run verified on every node, no process left behind; ports, --keep-running."""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from raftoral.cli import main
from tests.conftest import ROOT, die_with_parent
from tests.demo.conftest import demo_ports_free, node_pids

DEMO = [sys.executable, "-m", "raftoral.cli", "demo"]
Lines = queue.Queue[str | None]
DEADLINE = 120.0  # seconds for a whole demo run (it takes about 15 s)
COMMAND_DEADLINE = 30.0  # seconds for one `raftoral` command against the kept-up cluster


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DEMO, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=DEADLINE)  # fmt: skip


def assert_all_stopped(data_dir: Path, base_port: int) -> None:
    assert node_pids(data_dir) == [], "the demo left node processes running"
    assert demo_ports_free(base_port), "a port of the demo's nodes is still bound"


def test_demo_runs_the_workflows_through_a_kill_and_verifies_them_on_every_node(
    base_port: int, data_dir: Path
) -> None:
    done = run_demo("--base-port", str(base_port), "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "SIGKILL node" in out and "while workflows are in flight" in out
    assert "the workflows go on" in out
    assert "caught up: applied index" in out
    assert "all 201 workflows completed with identical results on every node" in out
    assert "200 charges in the ledger, each exactly once" in out
    assert "200 process_order + 1 order_loop" in out
    assert "603 describes on 3 nodes: all identical" in out
    assert "1,000 checkpoints in" in out
    assert f"http://127.0.0.1:{base_port + 100}/metrics" in out
    assert_all_stopped(data_dir, base_port)


def test_demo_restarts_a_cluster_from_its_data_dir(base_port: int, data_dir: Path) -> None:
    small = ("--workflows", "20", "--checkpoints", "50")
    first = run_demo("--base-port", str(base_port), "--data-dir", str(data_dir), *small)
    assert first.returncode == 0, first.stdout + first.stderr
    again = run_demo("--base-port", str(base_port), "--data-dir", str(data_dir), *small)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "restarting the nodes from it" in again.stdout
    assert "all 21 workflows completed with identical results on every node" in again.stdout
    assert "20 charges in the ledger, each exactly once" in again.stdout
    assert_all_stopped(data_dir, base_port)


def test_a_port_in_use_is_one_clear_line_and_exit_2(base_port: int, data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", base_port + 1))
        taken.listen()
        done = run_demo("--base-port", str(base_port), "--data-dir", str(data_dir))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {base_port + 1}" in lines[0] and "--base-port" in lines[0]
    assert node_pids(data_dir) == []


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--nodes", "0"]) == 2
    assert "--nodes must be between" in capsys.readouterr().err
    assert main(["demo", "--workflows", "1"]) == 2
    assert "--workflows must be at least 2" in capsys.readouterr().err


@contextlib.contextmanager
def demo_process(*args: str) -> Iterator[tuple[subprocess.Popen[str], Lines]]:
    """The demo in the background with its output lines in a queue (None at the end); killed if
    still running on the way out."""
    proc = subprocess.Popen([*DEMO, *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            preexec_fn=die_with_parent)  # fmt: skip
    lines: Lines = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        yield proc, lines
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def wait_for_line(lines: Lines, text: str, within: float) -> str:
    """The first line containing `text`; AssertionError with the output seen after `within` s."""
    deadline = time.monotonic() + within
    seen: list[str] = []
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:  # the demo exited
            break
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"no line with {text!r} within {within}s; output:\n{''.join(seen)}")


def raftoral(*args: str, connect: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "raftoral.cli", *args, "--connect", connect],
                          capture_output=True, text=True, timeout=COMMAND_DEADLINE)  # fmt: skip


def test_keep_running_serves_the_workflow_commands_until_ctrl_c(
    base_port: int, data_dir: Path
) -> None:
    args = ("--base-port", str(base_port), "--data-dir", str(data_dir), "--workflows", "20")
    with demo_process(*args, "--keep-running") as (proc, lines):
        loop_id = wait_for_line(lines, "describe loop-", DEADLINE).split()[-1]
        wait_for_line(lines, "Press Ctrl-C", DEADLINE)
        connect = f"127.0.0.1:{base_port},127.0.0.1:{base_port + 1},127.0.0.1:{base_port + 2}"
        order = '{"order_id": "o-kept", "item": "tea", "qty": 2}'
        started = raftoral("start", "process_order", "--input", order, connect=connect)
        assert started.returncode == 0, started.stderr
        receipt = json.loads(started.stdout.strip().splitlines()[-1])
        assert receipt["order_id"] == "o-kept" and receipt["total"] == 600
        described = raftoral("describe", loop_id, "--json", connect=connect)
        assert described.returncode == 0, described.stderr
        summary = json.loads(described.stdout)
        assert summary["status"] == "completed" and summary["checkpoints"] >= 1000
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    assert_all_stopped(data_dir, base_port)
