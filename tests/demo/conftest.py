"""Fixtures of the demo tests: a free block of ports for the demo's nodes and metrics, and a data
dir whose node processes are killed at teardown if the demo left any, pass or fail."""

from __future__ import annotations

import contextlib
import os
import random
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from raftoral.demo.processes import METRICS_OFFSET, port_free

NODES = 3


def node_pids(data_dir: Path) -> list[int]:
    """Pids of `raftoral.cli node` processes whose command line names `data_dir` (from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # exited meanwhile, or not ours to read
        words = [arg.decode(errors="replace") for arg in argv]
        if "raftoral.cli" in words and "node" in words and any(str(data_dir) in w for w in words):
            pids.append(int(entry.name))
    return pids


def demo_ports_free(base: int, nodes: int = NODES) -> bool:
    ports = [base + offset + i for offset in (0, METRICS_OFFSET) for i in range(nodes)]
    return all(port_free(port) for port in ports)


@pytest.fixture
def base_port() -> int:
    """A base port such that the demo's listen and metrics ports are all free right now."""
    candidates = random.Random().sample(range(20000, 60000, 10), 200)
    return next(base for base in candidates if demo_ports_free(base))


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "demo-data"
    try:
        yield path
    finally:
        for pid in node_pids(path):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
