"""Three `raftoral node --app examples/payments.py` processes driven by the CLI: `start` prints
the result and exits 0, `describe --json` shows the completed run, `list` shows it; bad starts
get their exit codes while the nodes keep serving."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from tests.conftest import ROOT
from tests.process.conftest import MakeCluster

NODES = (1, 2, 3)
APP = ("--app", "examples/payments.py")


async def cli(*args: str, connect: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "raftoral.cli", *args, "--connect", connect]
    return await asyncio.to_thread(
        subprocess.run, command, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


async def test_start_describe_and_list_through_the_cli(make_cluster: MakeCluster) -> None:
    cluster = make_cluster(3, APP)
    cluster.start_peers(NODES)
    await cluster.leader(NODES)
    connect = ",".join(cluster.address(slot) for slot in NODES)
    order = json.dumps({"order_id": "o-7", "item": "tea", "qty": 2})
    started = await cli(
        "start", "process_order", "--input", order, "--workflow-id", "o-7", "--timeout", "30",
        connect=connect,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    receipt = json.loads(started.stdout.strip().splitlines()[-1])
    assert receipt["order_id"] == "o-7" and receipt["total"] == 600
    assert receipt["charge_id"].startswith("ch_")

    for slot in NODES:  # every node applied the end and answers the same
        described = await cli("describe", "o-7", "--json", connect=cluster.address(slot))
        assert described.returncode == 0, described.stderr
        report = json.loads(described.stdout)
        assert (report["status"], report["checkpoints"]) == ("completed", 4), (slot, report)
        assert report["result"] == receipt

    listed = await cli("list", "--status", "completed", "--json", connect=connect)
    assert listed.returncode == 0, listed.stderr
    assert [run["workflow_id"] for run in json.loads(listed.stdout)] == ["o-7"]
    table = await cli("list", connect=connect)
    assert table.returncode == 0 and "o-7" in table.stdout


async def test_bad_starts_get_their_exit_codes(make_cluster: MakeCluster) -> None:
    cluster = make_cluster(3, APP)
    cluster.start_peers(NODES)
    await cluster.leader(NODES)
    connect = cluster.address(1)
    unknown = await cli("start", "nope", "--input", "{}", connect=connect)
    assert unknown.returncode == 2 and "no workflow 'nope'" in unknown.stderr
    invalid = await cli("start", "process_order", "--input", '{"qty": "x"}', connect=connect)
    assert invalid.returncode == 2 and "invalid input" in invalid.stderr
    bad = json.dumps({"order_id": "o-9", "item": "gold", "qty": 1})
    failed = await cli("start", "process_order", "--input", bad, connect=connect)
    assert failed.returncode == 1 and "ValueError: cannot sell 1 x 'gold'" in failed.stderr
    no_wait = await cli(
        "start", "process_order", "--input", bad.replace("gold", "tea"), "--no-wait",
        connect=connect,
    )  # fmt: skip
    assert no_wait.returncode == 0, no_wait.stderr
    workflow_id = json.loads(no_wait.stdout.strip().splitlines()[-1])
    described = await cli("describe", workflow_id, connect=connect)
    assert described.returncode == 0 and workflow_id in described.stdout
    missing = await cli("describe", "never", connect=connect)
    assert missing.returncode == 2 and "no workflow run 'never'" in missing.stderr
