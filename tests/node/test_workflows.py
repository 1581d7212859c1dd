"""Workflows on three in-process nodes: every node runs the body over the same committed steps,
the owner runs side effects once, results after the end commits, idempotent and rejected starts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import pytest
from prometheus_client import CollectorRegistry

from actors import Address, RemoteError
from raftoral import App, Client, Node, NodeConfig, RaftTiming, WorkflowContext, WorkflowHandle
from raftoral.errors import (
    InvalidInput,
    NoSuchRun,
    Rejected,
    UnknownVersion,
    UnknownWorkflow,
    VersionMissingOnMember,
    WorkflowConflict,
    WorkflowFailed,
)
from raftoral.wire import ROUTER, ErrorCode, TransferLeadership
from tests.conftest import free_ports
from tests.process.cluster import wait_for

# Compaction every 20 entries: restarts restore the workflow state from a snapshot.
TIMING = RaftTiming(tick_interval=0.01, election_tick=10, heartbeat_tick=2, snapshot_entries=20)


class Order(msgspec.Struct):
    item: str
    qty: int


class Receipt(msgspec.Struct):
    charge_id: str
    total: int


@dataclass
class Seen:
    """What each node's bodies saw, and the side effects run (all nodes share one process)."""

    steps: dict[int, dict[str, list[object]]] = field(default_factory=dict)
    charges: list[str] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)  # holds order v2 runs


def make_app(node_id: int, seen: Seen, *, with_v2: bool = True) -> App:
    app = App("shop")
    mine = seen.steps.setdefault(node_id, {})

    @app.workflow("order", version=1)
    async def order(ctx: WorkflowContext, order: Order) -> Receipt:
        total = await ctx.checkpoint("total", order.qty * 300)
        charge = await ctx.checkpoint_compute("charge", lambda: _charge(seen, ctx.workflow_id))
        stamp = await ctx.now()
        mine[ctx.workflow_id] = [total, charge, stamp]
        return Receipt(charge, total)

    @app.workflow("boom", version=1)
    async def boom(ctx: WorkflowContext, x: int) -> int:
        await ctx.checkpoint("x", x)
        raise ValueError(f"cannot handle {x}")

    if with_v2:  # a node without version 2 must say so instead of diverging

        @app.workflow("order", version=2)
        async def order_v2(ctx: WorkflowContext, order: Order) -> int:
            async def held() -> int:
                await seen.gate.wait()
                return order.qty

            return await ctx.checkpoint_compute("qty", held)

    return app


def _charge(seen: Seen, workflow_id: str) -> str:
    seen.charges.append(workflow_id)
    return f"ch-{workflow_id}"


@dataclass
class Cluster:
    nodes: dict[int, Node]
    seen: Seen
    configs: dict[int, NodeConfig] = field(default_factory=dict)

    async def restart(self, node_id: int, *, with_v2: bool = True) -> Node:
        await self.nodes[node_id].stop()
        app = make_app(node_id, self.seen, with_v2=with_v2)
        node = await Node.start(self.configs[node_id], app, registry=CollectorRegistry())
        self.nodes[node_id] = node
        return node


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    peers = {i: f"127.0.0.1:{port}" for i, port in enumerate(free_ports(3), start=1)}
    cluster = Cluster({}, Seen())
    try:
        for node_id, listen in peers.items():
            config = NodeConfig(
                listen=listen, data_dir=tmp_path / f"n{node_id}", node_id=node_id, peers=peers,
                timing=TIMING,
            )  # fmt: skip
            cluster.configs[node_id] = config
            app = make_app(node_id, cluster.seen)
            cluster.nodes[node_id] = await Node.start(config, app, registry=CollectorRegistry())
        yield cluster
    finally:
        for node in cluster.nodes.values():
            await node.stop()


async def test_every_node_runs_the_workflow_over_the_same_steps(cluster: Cluster) -> None:
    handle = await cluster.nodes[2].start_workflow("order", {"item": "tea", "qty": 2}, version=1)
    receipt = await handle.result(timeout=20)
    assert receipt == Receipt(f"ch-{handle.workflow_id}", 600)
    steps = cluster.seen.steps

    async def everyone_ran() -> bool:
        return all(handle.workflow_id in steps[node_id] for node_id in cluster.nodes)

    await wait_for(everyone_ran, 10.0, "every node ran the body")
    views = [steps[node_id][handle.workflow_id] for node_id in cluster.nodes]
    assert views[0] == views[1] == views[2]
    assert cluster.seen.charges == [handle.workflow_id]  # the side effect ran once, on the owner

    async def completed_everywhere() -> bool:
        views = [node.executor.describe(handle.workflow_id) for node in cluster.nodes.values()]
        return all((v.status, v.owner, v.checkpoints) == ("completed", 2, 3) for v in views)

    await wait_for(completed_everywhere, 10.0, "the end applied on every node")


async def test_a_start_with_the_same_id_and_input_returns_the_same_run(cluster: Cluster) -> None:
    node = cluster.nodes[1]
    first = await node.start_workflow("order", Order("tea", 1), version=1, workflow_id="o-1")
    assert not first.existing
    assert await first.result(timeout=20) == Receipt("ch-o-1", 300)
    again = await cluster.nodes[3].start_workflow(
        "order", {"qty": 1, "item": "tea"}, workflow_id="o-1"
    )
    assert again.existing and again.workflow_id == "o-1"
    assert await again.result(timeout=5) == Receipt("ch-o-1", 300)
    assert cluster.seen.charges == ["o-1"]
    with pytest.raises(WorkflowConflict, match="already used"):
        await node.start_workflow("order", Order("tea", 2), version=1, workflow_id="o-1")


async def test_retention_forgets_the_oldest_finished_runs_on_every_node(cluster: Cluster) -> None:
    node = cluster.nodes[1]
    await node.set_workflow_retention(max_finished=1, max_age_s=3600)
    for workflow_id in ("r-1", "r-2"):
        handle = await node.start_workflow(
            "order", Order("tea", 1), version=1, workflow_id=workflow_id
        )
        await handle.result(timeout=20)

    async def forgotten_everywhere() -> bool:
        for member in cluster.nodes.values():
            if member.executor.machine.describe("r-1") is not None:
                return False
        return True

    await wait_for(forgotten_everywhere, 10.0, "r-1 forgotten on every node")
    assert all(m.executor.describe("r-2").status == "completed" for m in cluster.nodes.values())
    with pytest.raises(NoSuchRun, match="forgotten after the retention"):
        cluster.nodes[2].executor.describe("r-1")
    again = await node.start_workflow("order", Order("tea", 1), version=1, workflow_id="r-1")
    assert not again.existing  # a forgotten id starts a new run
    with pytest.raises(ValueError, match=">= 0"):
        await node.set_workflow_retention(max_finished=-1, max_age_s=1)


async def test_bad_starts_are_rejected_with_clear_errors(cluster: Cluster) -> None:
    node = cluster.nodes[1]
    with pytest.raises(UnknownWorkflow, match="no workflow 'nope'"):
        await node.start_workflow("nope", {})
    with pytest.raises(UnknownVersion, match="no version 7"):
        await node.start_workflow("order", {"item": "tea", "qty": 1}, version=7)
    with pytest.raises(InvalidInput) as caught:
        await node.start_workflow("order", {"item": "tea", "qty": "two"})
    assert caught.value.path == "$.qty"


async def test_a_failing_workflow_reports_failed_with_the_exception(cluster: Cluster) -> None:
    handle = await cluster.nodes[1].start_workflow("boom", 5)
    with pytest.raises(WorkflowFailed) as caught:
        await handle.result(timeout=20)
    error = caught.value
    assert (error.error_type, error.error_message) == ("ValueError", "cannot handle 5")
    executor = cluster.nodes[2].executor

    async def failed_there() -> bool:
        return executor.describe(handle.workflow_id).status == "failed"

    await wait_for(failed_there, 10.0, "the end applied on node 2")
    assert executor.describe(handle.workflow_id).error_message == "cannot handle 5"


async def test_a_node_without_the_version_notes_it_instead_of_running(cluster: Cluster) -> None:
    handle = await cluster.nodes[1].start_workflow("order", {"item": "tea", "qty": 4})
    assert handle.version == 2
    node = await cluster.restart(3, with_v2=False)  # while the run waits for the gate

    async def noted() -> bool:
        return handle.workflow_id in node.executor.notes

    await wait_for(noted, 10.0, "node 3's note")
    cluster.seen.gate.set()
    assert await handle.result(timeout=20) == 4
    (note,) = node.executor.describe(handle.workflow_id).notes
    assert "node 3 cannot run this workflow" in note and "no version 2" in note


async def test_a_version_a_member_lacks_is_refused_up_front(cluster: Cluster) -> None:
    await cluster.restart(3, with_v2=False)
    node = cluster.nodes[1]
    order = {"item": "tea", "qty": 1}

    async def announced() -> bool:
        return node.executor.catalog.lacking("order", 2) == {3: (1,)}

    await wait_for(announced, 10.0, "node 3's new workflows in node 1's catalog")
    with pytest.raises(VersionMissingOnMember) as caught:
        await node.start_workflow("order", order, workflow_id="v2")
    error = caught.value
    assert error.members == (3,) and error.code == "version_missing_on_member"
    assert "'order' v2 is not registered" in error.message and "node 3 (has v1)" in error.message
    assert node.executor.machine.describe("v2") is None  # nothing was proposed
    handle = await node.start_workflow("order", order, version=1)  # every member has v1
    assert await handle.result(timeout=20) == Receipt(f"ch-{handle.workflow_id}", 300)
    async with Client([cluster.nodes[2].config.listen]) as client:
        with pytest.raises(VersionMissingOnMember, match="missing on node 3"):
            await client.start_workflow("order", order, version=2)


async def test_a_result_waits_for_a_start_not_applied_here_yet(cluster: Cluster) -> None:
    waiting = asyncio.ensure_future(cluster.nodes[3].executor.wait_finished("late", 20.0))
    await asyncio.sleep(0)  # noqa: sleep-ok one loop turn: the waiter registers before the start exists
    await cluster.nodes[1].start_workflow("order", Order("tea", 1), version=1, workflow_id="late")
    summary = await waiting
    assert (summary.status, summary.workflow_id) == ("completed", "late")
    with pytest.raises(NoSuchRun):
        await cluster.nodes[3].executor.wait_finished("never", 0.2)


async def test_the_client_starts_describes_and_lists(cluster: Cluster) -> None:
    addresses = [node.config.listen for node in cluster.nodes.values()]
    async with Client(addresses) as client:
        handle = await client.start_workflow("order", {"item": "tea", "qty": 3}, version=1)
        expected = {"charge_id": f"ch-{handle.workflow_id}", "total": 900}
        assert await handle.result(timeout=20) == expected
        summary = await client.describe(handle.workflow_id)
        assert (summary.status, summary.checkpoints) == ("completed", 3)
        completed = await client.list(status="completed")
        assert [s.workflow_id for s in completed] == [handle.workflow_id]
        assert await client.list(status="running") == []
        with pytest.raises(UnknownWorkflow):
            await client.start_workflow("nope", 1)
        with pytest.raises(NoSuchRun):
            await client.describe("never-started")
        failing = await client.start_workflow("boom", 1, workflow_id="b-1")
        with pytest.raises(WorkflowFailed, match="ValueError: cannot handle 1"):
            await failing.result(timeout=20)


async def test_a_restarted_node_replays_and_starts_new_runs(cluster: Cluster) -> None:
    handles = [
        await cluster.nodes[2].start_workflow("order", {"item": "tea", "qty": i}, version=1)
        for i in range(1, 6)
    ]
    for handle in handles:
        await handle.result(timeout=20)
    first = handles[0]
    node = await cluster.restart(2)

    async def replayed() -> bool:
        info = node.executor.machine.describe(first.workflow_id)
        return info is not None and info.status == "completed"

    await wait_for(replayed, 10.0, "the restarted node replayed the run to its end")
    second = await node.start_workflow("order", {"item": "tea", "qty": 5}, version=1)
    assert await second.result(timeout=20) == Receipt(f"ch-{second.workflow_id}", 1500)
    started = [handle.workflow_id for handle in (*handles, second)]
    assert sorted(cluster.seen.charges) == sorted(started)  # nothing ran twice


async def test_a_node_without_an_app_rejects_starts(tmp_path: Path) -> None:
    (listen,) = (f"127.0.0.1:{port}" for port in free_ports(1))
    config = NodeConfig(listen=listen, data_dir=tmp_path, node_id=1, bootstrap=True, timing=TIMING)
    node = await Node.start(config, registry=CollectorRegistry())
    try:
        with pytest.raises(Rejected, match="runs no workflow app") as caught:
            await node.start_workflow("order", {})
        assert caught.value.code == "no_app"
        assert node.executor.list() == ()
    finally:
        await node.stop()


async def test_workflows_in_flight_survive_leader_changes(cluster: Cluster) -> None:
    """Pipelined steps lost when leadership moves are resent in order by their owner."""
    handles: list[WorkflowHandle] = []
    for round_ in range(3):
        starts = [
            cluster.nodes[1 + i % 3].start_workflow("order", {"item": "x", "qty": i}, version=1)
            for i in range(round_ * 40, round_ * 40 + 40)
        ]
        handles += await asyncio.gather(*starts)
        await _transfer_leadership(cluster.nodes[1 + round_])
    receipts = await asyncio.gather(*(handle.result(timeout=30) for handle in handles))
    assert [r.total for r in receipts] == [i * 300 for i in range(120)]
    assert sorted(cluster.seen.charges) == sorted(h.workflow_id for h in handles)
    steps = cluster.seen.steps

    async def everyone_ran() -> bool:
        return all(len(steps[node_id]) == len(handles) for node_id in cluster.nodes)

    await wait_for(everyone_ran, 10.0, "every node ran every body")
    assert steps[1] == steps[2] == steps[3]


async def _transfer_leadership(node: Node) -> None:
    async def transferred() -> bool:
        try:
            await node.bus.ask(Address(node.node_id, ROUTER), TransferLeadership(), timeout=2.0)
        except RemoteError as exc:
            if exc.code != ErrorCode.NO_LEADER:
                raise
            return False
        return True

    await wait_for(transferred, 10.0, "a leadership transfer")
