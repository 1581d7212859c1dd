"""Fixtures of the client tests: a running 3-node cluster of `raftoral node` processes (the node
engineer's ProcessCluster, every process reaped) and the `raftoral` command run as a process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from tests.conftest import ROOT, free_ports
from tests.process.cluster import ProcessCluster
from tests.process.conftest import MakeCluster, make_cluster

__all__ = ["NODES", "cluster3", "dead_address", "make_cluster", "run_cli"]

NODES = (1, 2, 3)


@pytest.fixture
async def cluster3(make_cluster: MakeCluster) -> AsyncIterator[ProcessCluster]:
    """Three nodes started with --peers, once they agree on a leader."""
    cluster = make_cluster(3)
    cluster.start_peers(NODES)
    await cluster.leader(NODES)
    yield cluster


def dead_address() -> str:
    """An address on 127.0.0.1 where nothing listens (a port that was free a moment ago)."""
    return f"127.0.0.1:{free_ports(1)[0]}"


def run_cli(*args: str, within: float = 30.0) -> subprocess.CompletedProcess[str]:
    """`raftoral ARGS...` as its own process, without $RAFTORAL_CONNECT from the environment."""
    env = {key: value for key, value in os.environ.items() if key != "RAFTORAL_CONNECT"}
    return subprocess.run(
        [sys.executable, "-m", "raftoral.cli", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=within,
    )  # fmt: skip
