"""The real-process demo's story: elect a leader, run workflows while a node is SIGKILLed, restart
it and watch it catch up, verify every run on every node and every charge once, summarise."""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from raftoral.client import Client
from raftoral.commands.cluster import cluster_report, cluster_table
from raftoral.demo.processes import APP, LocalCluster
from raftoral.demo.workload import (
    INFLIGHT,
    LoopStats,
    OrderStats,
    count_charges,
    described_on,
    make_orders,
    run_loop,
    run_orders,
    run_token,
)
from raftoral.errors import RaftoralError
from raftoral.wire import ClusterInfo

START_DEADLINE = 30.0  # seconds for the nodes to come up and elect a leader
FAILOVER_DEADLINE = 20.0  # seconds for the survivors to elect a new leader
CATCH_UP_DEADLINE = 30.0  # seconds for a restarted node to apply the leader's commit index
POLL = 0.05  # seconds between two looks at the cluster while waiting for a condition


class NoLeader(RaftoralError):
    """The cluster did not elect a leader (or a node did not catch up) within the deadline."""

    code = "no_leader"


@dataclass
class Failover:
    killed: int
    was_leader: bool
    killed_at: float  # monotonic time of the SIGKILL
    new_leader: int = 0
    term: int = 0
    elected_after: float = 0.0


@dataclass
class Results:
    orders: OrderStats
    loop: LoopStats
    failover: Failover | None
    catch_up: float | None
    wrong: list[str]  # runs not completed or differing on some node
    described: int
    overcharged: list[str]  # charges that did not happen exactly once

    @property
    def ok(self) -> bool:
        return not self.wrong and not self.overcharged


def _monitor(addresses: Sequence[str]) -> Client:
    """A client that gives up on a dead node quickly, to watch the cluster while it changes."""
    return Client(addresses, timeout=1.0, connect_timeout=0.3, read_timeout=0.5)


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)  # fmt: skip


async def _views(client: Client) -> list[ClusterInfo]:
    try:
        return await client.cluster_info()
    except RaftoralError:
        return []


def _agreed_leader(views: Sequence[ClusterInfo], expected: int) -> ClusterInfo | None:
    """The leader's view once `expected` nodes answer, all name the same leader and it has
    committed an entry of its own term (so the table shows a working cluster)."""
    leaders = {view.leader for view in views}
    if len(views) < expected or len(leaders) != 1 or 0 in leaders:
        return None
    leader = next((view for view in views if view.role == "leader"), None)
    return leader if leader is not None and leader.commit > 0 else None


async def wait_for_leader(cluster: LocalCluster, console: Console) -> list[ClusterInfo]:
    """Every node's view once all nodes are up and agree on a leader; NoLeader after a deadline."""
    start = time.monotonic()
    async with _monitor(cluster.addresses()) as client:
        while time.monotonic() - start < START_DEADLINE:
            cluster.check_alive()
            views = await _views(client)
            leader = _agreed_leader(views, cluster.count)
            if leader is not None:
                console.print(f"[green]✔[/] all {cluster.count} nodes up; leader: node "
                              f"{leader.node_id} (term {leader.term}), "
                              f"{time.monotonic() - start:.1f} s after start")  # fmt: skip
                return views
            await asyncio.sleep(POLL)
    raise NoLeader(f"the nodes did not elect a leader within {START_DEADLINE:g} s; see the logs "
                   f"{cluster.data_dir}/n*.log")  # fmt: skip


async def fail_over(
    cluster: LocalCluster, entry: int, half: asyncio.Event, console: Console
) -> Failover:
    """Once `half` is set, SIGKILL a node other than `entry` (whose client-started runs it owns):
    the leader if that is another node; then wait for the survivors to agree on a leader."""
    await half.wait()
    async with _monitor(cluster.addresses()) as client:
        leader = _agreed_leader(await _views(client), cluster.count)
        while leader is None:
            await asyncio.sleep(POLL)
            leader = _agreed_leader(await _views(client), cluster.count)
    victim = leader.node_id if leader.node_id != entry else max(set(cluster.ids) - {entry})
    pid = cluster.kill(victim)
    failover = Failover(victim, victim == leader.node_id, time.monotonic())
    role = "the leader" if failover.was_leader else "a follower"
    console.print(f"[bold red]✖ SIGKILL[/] node {victim} — {role}, pid {pid} — while workflows "
                  "are in flight")  # fmt: skip
    if failover.was_leader:
        await _new_leader(cluster, failover, leader.term)
        console.print(f"[green]✔[/] node {failover.new_leader} elected leader (term "
                      f"{failover.term}) {failover.elected_after:.2f} s after the kill; the "
                      "workflows go on")  # fmt: skip
    else:
        failover.new_leader, failover.term = leader.node_id, leader.term
        console.print(f"[green]✔[/] node {leader.node_id} stays leader; the workflows go on")
    return failover


async def _new_leader(cluster: LocalCluster, failover: Failover, old_term: int) -> None:
    survivors = [cluster.address(node) for node in cluster.ids if node != failover.killed]
    async with _monitor(survivors) as client:
        while time.monotonic() - failover.killed_at < FAILOVER_DEADLINE:
            views = await _views(client)
            leader = next((v for v in views if v.role == "leader" and v.term > old_term), None)
            if leader is not None:
                failover.new_leader, failover.term = leader.node_id, leader.term
                failover.elected_after = time.monotonic() - failover.killed_at
                return
            await asyncio.sleep(POLL)
    raise NoLeader(f"no new leader within {FAILOVER_DEADLINE:g} s after node {failover.killed} "
                   "was killed")  # fmt: skip


async def workflow_phase(
    cluster: LocalCluster,
    entry: int,
    orders: dict[str, dict[str, Any]],
    loop: tuple[str, int],
    console: Console,
) -> tuple[OrderStats, LoopStats, Failover | None]:
    """Run the orders and the loop through a client of node `entry` with progress bars; halfway
    through the orders, SIGKILL another node (3+ nodes)."""
    loop_id, lines = loop
    console.print(f"\nRunning {len(orders):,} process_order workflows ({INFLIGHT} in flight) and "
                  f"one order_loop of {lines:,} checkpoints through a client of node {entry} "
                  "(the entry node owns the runs it starts):")  # fmt: skip
    half = asyncio.Event()
    async with Client([cluster.address(entry)], timeout=30.0) as client:
        with _progress(console) as progress:
            orders_bar = progress.add_task("process_order", total=len(orders))
            loop_bar = progress.add_task("order_loop checkpoints", total=lines)

            def on_done(done: int) -> None:
                progress.update(orders_bar, completed=done)
                if done * 2 >= len(orders):
                    half.set()

            def on_checkpoints(done: int) -> None:
                progress.update(loop_bar, completed=min(done, lines))

            failing = None
            if cluster.count >= 3:
                failing = asyncio.ensure_future(fail_over(cluster, entry, half, progress.console))
            try:
                stats, looped = await asyncio.gather(
                    run_orders(client, orders, on_done),
                    run_loop(client, loop_id, lines, on_checkpoints),
                )
                return stats, looped, (await failing if failing else None)
            finally:
                if failing is not None:
                    failing.cancel()


async def catch_up(cluster: LocalCluster, node: int, console: Console) -> float:
    """Restart `node` from its data dir and wait until it has applied the leader's commit index;
    returns the seconds from restart to caught up."""
    start = time.monotonic()
    pid = cluster.start(node)
    console.print(f"[cyan]↻[/] restarted node {node} from its data dir (pid {pid}):")
    with _progress(console) as progress:
        task = progress.add_task(f"node {node} applied index", total=None)
        applied, commit = await _applied_reaches_commit(cluster, node, progress, task)
    elapsed = time.monotonic() - start
    console.print(f"[green]✔[/] node {node} caught up: applied index {applied:,} ≥ leader's "
                  f"commit index {commit:,}, {elapsed:.2f} s after restart")  # fmt: skip
    return elapsed


async def _applied_reaches_commit(
    cluster: LocalCluster, node: int, progress: Progress, task: TaskID
) -> tuple[int, int]:
    deadline = time.monotonic() + CATCH_UP_DEADLINE
    async with _monitor(cluster.addresses()) as client:
        while time.monotonic() < deadline:
            cluster.check_alive()
            by_id = {view.node_id: view for view in await _views(client)}
            leader = next((v for v in by_id.values() if v.role == "leader"), None)
            if leader is not None and node in by_id:
                applied = by_id[node].applied
                progress.update(task, total=leader.commit, completed=min(applied, leader.commit))
                if applied >= leader.commit:
                    return applied, leader.commit
            await asyncio.sleep(POLL)
    raise NoLeader(f"node {node} did not catch up within {CATCH_UP_DEADLINE:g} s")


async def verify_phase(cluster: LocalCluster, ids: list[str], console: Console) -> list[str]:
    """Describe every run on every node (each node's own state machine); returns the runs not
    completed on a node or whose result differs from node 1's."""
    console.print(f"\nDescribing every workflow on each of the {cluster.count} nodes:")
    with _progress(console) as progress:
        task = progress.add_task("describes", total=len(ids) * cluster.count)
        seen = await asyncio.gather(*(
            described_on(address, ids, lambda: progress.advance(task))
            for address in cluster.addresses()
        ))  # fmt: skip
    wrong = _mismatches(cluster.ids, seen)
    if wrong:
        console.print(f"[bold red]✖ {len(wrong)} runs differ[/], e.g. {wrong[:3]}")
    else:
        console.print(f"[green]✔[/] all {len(ids):,} workflows completed with identical results "
                      "on every node")  # fmt: skip
    return wrong


def _mismatches(nodes: list[int], seen: list[list[tuple[str, bytes | None]]]) -> list[str]:
    first = dict(seen[0])
    wrong = []
    for node, results in zip(nodes, seen, strict=True):
        for workflow_id, result in results:
            if result is None:
                wrong.append(f"node {node}: {workflow_id} not completed")
            elif result != first[workflow_id]:
                wrong.append(f"node {node}: {workflow_id} differs")
    return wrong


def check_charges(cluster: LocalCluster, stats: OrderStats, console: Console) -> list[str]:
    """Every receipt's charge happened exactly once (the ledger the nodes' charges append to)."""
    counts = count_charges(cluster.ledger, (r["charge_id"] for r in stats.receipts.values()))
    wrong = [f"{charge} charged {times} times" for charge, times in counts.items() if times != 1]
    if wrong:
        console.print(f"[bold red]✖ {len(wrong)} charges not made exactly once[/]: {wrong[:3]}")
    else:
        console.print(f"[green]✔[/] {len(counts):,} charges in the ledger, each exactly once")
    return wrong


async def show_cluster(cluster: LocalCluster, console: Console) -> None:
    async with _monitor(cluster.addresses()) as client:
        views = await _views(client)
    if views:
        console.print(cluster_table(cluster_report(views)))


def summary(results: Results, cluster: LocalCluster) -> Table:
    orders, loop, failover = results.orders, results.loop, results.failover
    table = Table(title="Results", box=box.SIMPLE_HEAD, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("workflows completed", f"{len(orders.receipts):,} process_order + 1 order_loop")
    verdict = "all identical" if not results.wrong else f"{len(results.wrong)} DIFFER"
    described = f"{results.described:,} describes on {cluster.count} nodes"
    table.add_row("verified", f"{described}: {verdict}")
    charged = "each exactly once" if not results.overcharged else (
        f"{len(results.overcharged)} NOT exactly once")  # fmt: skip
    table.add_row("side effects", f"{len(orders.receipts):,} charges: {charged}")
    if failover is not None:
        table.add_row("node killed", _killed_text(failover, orders))
    if results.catch_up is not None and failover is not None:
        table.add_row("catch-up", f"node {failover.killed} restarted and caught up in "
                      f"{results.catch_up:.2f} s")  # fmt: skip
    rate = len(orders.receipts) / orders.seconds if orders.seconds else 0.0
    table.add_row("throughput", f"{rate:,.0f} process_order workflows/s over "
                  f"{orders.seconds:.2f} s (kill included)")  # fmt: skip
    table.add_row("order_loop", f"{loop.checkpoints:,} checkpoints in {loop.seconds:.2f} s: "
                  f"{loop.checkpoints / loop.seconds:,.0f} checkpoints/s; total "
                  f"{loop.total:,} cents")  # fmt: skip
    return table


def _killed_text(failover: Failover, orders: OrderStats) -> str:
    pause = orders.longest_pause(failover.killed_at)
    if failover.was_leader:
        what = (f"node {failover.killed} (leader); node {failover.new_leader} elected in "
                f"{failover.elected_after:.2f} s")  # fmt: skip
    else:
        what = f"node {failover.killed} (follower); node {failover.new_leader} stayed leader"
    return f"{what}; longest pause in completions {pause:.2f} s"


def print_metrics(cluster: LocalCluster, console: Console, running: bool) -> None:
    note = "" if running else " (served while the nodes run; --keep-running keeps them up)"
    console.print(f"\nPrometheus metrics{note}:")
    for node in cluster.ids:
        console.print(f"  node {node}: {cluster.metrics_url(node)}", highlight=False)
    console.print(f"Node logs and data: {cluster.data_dir}", highlight=False)


async def run_live(
    cluster: LocalCluster, workload: tuple[int, int], keep_running: bool, console: Console
) -> int:
    """The whole demo (`workload`: orders, loop checkpoints) on an already port-checked cluster;
    the caller stops its processes."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    if main is not None:
        loop.add_signal_handler(signal.SIGTERM, main.cancel)
    results = await _scenario(cluster, workload, console)
    await show_cluster(cluster, console)
    console.print(summary(results, cluster))
    print_metrics(cluster, console, running=keep_running)
    if keep_running:
        await hold(cluster, results.loop.workflow_id, console)
    return 0 if results.ok else 1


async def _scenario(cluster: LocalCluster, workload: tuple[int, int], console: Console) -> Results:
    console.print(f"[bold]Raftoral demo[/] — {cluster.count} `raftoral node` processes on "
                  f"127.0.0.1 running workflows (--app {APP}) replicated with Raft")  # fmt: skip
    restart = " (restarting the nodes from it)" if cluster.has_data() else ""
    console.print(f"Data dir: {cluster.data_dir}{restart}", highlight=False)
    cluster.start_all()
    for node in cluster.ids:
        console.print(f"  started node {node}  pid {cluster.pid(node)}  {cluster.address(node)}  "
                      f"metrics :{cluster.metrics_port(node)}", highlight=False)  # fmt: skip
    views = await wait_for_leader(cluster, console)
    console.print(cluster_table(cluster_report(views)))
    entry = _entry_node(cluster, views)
    run = run_token()
    orders = make_orders(workload[0], run)
    stats, looped, failover = await workflow_phase(
        cluster, entry, orders, (f"loop-{run}", workload[1]), console
    )
    console.print(f"[green]✔[/] {len(stats.receipts):,} orders and the order_loop completed in "
                  f"{max(stats.seconds, looped.seconds):.2f} s")  # fmt: skip
    caught_up = await catch_up(cluster, failover.killed, console) if failover else None
    ids = [*orders, looped.workflow_id]
    wrong = await verify_phase(cluster, ids, console)
    overcharged = check_charges(cluster, stats, console)
    return Results(stats, looped, failover, caught_up, wrong, len(ids) * cluster.count,
                   overcharged)  # fmt: skip


def _entry_node(cluster: LocalCluster, views: Sequence[ClusterInfo]) -> int:
    """The node the client talks to: a follower, so that killing the leader shows an election
    while the owner of the runs stays up."""
    leader = next(view.node_id for view in views if view.role == "leader")
    return next((node for node in cluster.ids if node != leader), leader)


async def hold(cluster: LocalCluster, loop_id: str, console: Console) -> None:
    """Keep the cluster up, showing commands to try, until Ctrl-C (or SIGTERM)."""
    raftoral = "raftoral" if shutil.which("raftoral") else f"{sys.executable} -m raftoral.cli"
    connect = ",".join(cluster.addresses())
    order = '{"order_id": "o-1", "item": "tea", "qty": 2}'
    console.print("\n[bold]The cluster keeps running.[/] Try, from another terminal:")
    for line in (f"export RAFTORAL_CONNECT={connect}",
                 f"{raftoral} start process_order --input '{order}'",
                 f"{raftoral} describe {loop_id}",
                 f"{raftoral} list --status completed",
                 f"{raftoral} cluster",
                 f"curl -s {cluster.metrics_url(1)} | grep '^raftoral_workflows'"):  # fmt: skip
        console.print(f"  {line}", highlight=False, soft_wrap=True)
    console.print("Press Ctrl-C to stop every node.", highlight=False)
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        console.print("\nStopping the cluster ...")
