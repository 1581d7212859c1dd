"""The real-process demo's story: elect a leader, write orders while the leader is SIGKILLed,
restart it and watch it catch up, verify every order on every node, summarise (or keep running)."""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

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
from raftoral.demo.processes import LocalCluster
from raftoral.demo.workload import INFLIGHT, WriteStats, make_orders, verify_on, write_all
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
    pid: int
    at_write: int
    killed_at: float  # monotonic time of the SIGKILL
    new_leader: int = 0
    term: int = 0
    elected_after: float = 0.0


@dataclass
class Results:
    writes: WriteStats
    failover: Failover | None
    catch_up: float | None
    wrong: list[str]
    reads: int


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


async def fail_over(cluster: LocalCluster, half: asyncio.Event, console: Console) -> Failover:
    """Once `half` is set, SIGKILL the leader and wait for the survivors to elect another."""
    await half.wait()
    async with _monitor(cluster.addresses()) as client:
        leader = _agreed_leader(await _views(client), cluster.count)
        while leader is None:
            await asyncio.sleep(POLL)
            leader = _agreed_leader(await _views(client), cluster.count)
    failover = Failover(leader.node_id, cluster.pid(leader.node_id), 0, time.monotonic())
    cluster.kill(leader.node_id)
    failover.killed_at = time.monotonic()
    console.print(f"[bold red]✖ SIGKILL[/] node {failover.killed} — the leader, pid "
                  f"{failover.pid} — while writes are in flight")  # fmt: skip
    await _new_leader(cluster, failover, leader.term)
    console.print(f"[green]✔[/] node {failover.new_leader} elected leader (term {failover.term}) "
                  f"{failover.elected_after:.2f} s after the kill; the writes go on")  # fmt: skip
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


async def write_phase(
    cluster: LocalCluster, orders: dict[str, bytes], console: Console
) -> tuple[WriteStats, Failover | None]:
    """Write every order with a progress bar; halfway, fail the leader over (3+ nodes)."""
    console.print(f"\nWriting {len(orders):,} orders through the client, {INFLIGHT} in flight "
                  "(each acknowledged once committed on a majority and fsync'd):")  # fmt: skip
    half = asyncio.Event()
    async with Client(cluster.addresses(), timeout=1.0, connect_timeout=0.3) as client:
        with _progress(console) as progress:
            task = progress.add_task("writes", total=len(orders))

            def on_ack(done: int) -> None:
                progress.update(task, completed=done)
                if done * 2 >= len(orders):
                    half.set()

            failing = None
            if cluster.count >= 3:
                failing = asyncio.ensure_future(fail_over(cluster, half, progress.console))
            try:
                stats = await write_all(client, orders, on_ack)
                return stats, (await failing if failing else None)
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


async def verify_phase(
    cluster: LocalCluster, orders: dict[str, bytes], console: Console
) -> list[str]:
    """Read every order back on every node (each node's own replica); returns the mismatches."""
    console.print(f"\nReading every order back on each of the {cluster.count} nodes "
                  "(linearizable reads):")  # fmt: skip
    with _progress(console) as progress:
        task = progress.add_task("reads", total=len(orders) * cluster.count)
        wrong = await asyncio.gather(*(
            verify_on(address, orders, lambda: progress.advance(task))
            for address in cluster.addresses()
        ))  # fmt: skip
    mismatches = [f"node {node}: {key}" for node, keys in enumerate(wrong, start=1) for key in keys]
    if mismatches:
        console.print(f"[bold red]✖ {len(mismatches)} values differ[/], e.g. {mismatches[:3]}")
    else:
        console.print(f"[green]✔[/] all {len(orders):,} orders read back identical on every node")
    return mismatches


async def show_cluster(cluster: LocalCluster, console: Console) -> None:
    async with _monitor(cluster.addresses()) as client:
        views = await _views(client)
    if views:
        console.print(cluster_table(cluster_report(views)))


def summary(results: Results, cluster: LocalCluster) -> Table:
    writes, failover = results.writes, results.failover
    table = Table(title="Results", box=box.SIMPLE_HEAD, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("writes acknowledged", f"{writes.acknowledged:,} ({writes.retried} resent "
                  "after their node died; a put is idempotent)")  # fmt: skip
    verdict = "all identical" if not results.wrong else f"{len(results.wrong)} DIFFER"
    table.add_row("verified", f"{results.reads:,} reads on {cluster.count} nodes: {verdict}")
    if failover is not None:
        pause = writes.longest_pause(failover.killed_at)
        table.add_row("failover", f"node {failover.killed} (leader) killed; node "
                      f"{failover.new_leader} elected in {failover.elected_after:.2f} s; "
                      f"longest pause in acknowledgements {pause:.2f} s")  # fmt: skip
    if results.catch_up is not None and failover is not None:
        table.add_row("catch-up", f"node {failover.killed} restarted and caught up in "
                      f"{results.catch_up:.2f} s")  # fmt: skip
    rate = writes.acknowledged / writes.seconds if writes.seconds else 0.0
    table.add_row("throughput", f"{rate:,.0f} writes/s over {writes.seconds:.2f} s "
                  "(failover included)")  # fmt: skip
    return table


def print_metrics(cluster: LocalCluster, console: Console, running: bool) -> None:
    note = "" if running else " (served while the nodes run; --keep-running keeps them up)"
    console.print(f"\nPrometheus metrics{note}:")
    for node in cluster.ids:
        console.print(f"  node {node}: {cluster.metrics_url(node)}", highlight=False)
    console.print(f"Node logs and data: {cluster.data_dir}", highlight=False)


async def run_live(cluster: LocalCluster, writes: int, keep_running: bool, console: Console) -> int:
    """The whole demo on an already port-checked cluster; the caller stops its processes."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    if main is not None:
        loop.add_signal_handler(signal.SIGTERM, main.cancel)
    results = await _scenario(cluster, writes, console)
    await show_cluster(cluster, console)
    console.print(summary(results, cluster))
    print_metrics(cluster, console, running=keep_running)
    if keep_running:
        await hold(cluster, console)
    return 0 if not results.wrong else 1


async def _scenario(cluster: LocalCluster, writes: int, console: Console) -> Results:
    console.print(f"[bold]Raftoral demo[/] — {cluster.count} `raftoral node` processes on "
                  "127.0.0.1 replicating a key-value store with Raft")  # fmt: skip
    restart = " (restarting the nodes from it)" if cluster.has_data() else ""
    console.print(f"Data dir: {cluster.data_dir}{restart}", highlight=False)
    cluster.start_all()
    for node in cluster.ids:
        console.print(f"  started node {node}  pid {cluster.pid(node)}  {cluster.address(node)}  "
                      f"metrics :{cluster.metrics_port(node)}", highlight=False)  # fmt: skip
    views = await wait_for_leader(cluster, console)
    console.print(cluster_table(cluster_report(views)))
    orders = make_orders(writes)
    stats, failover = await write_phase(cluster, orders, console)
    console.print(f"[green]✔[/] {stats.acknowledged:,} writes acknowledged in "
                  f"{stats.seconds:.2f} s")  # fmt: skip
    caught_up = await catch_up(cluster, failover.killed, console) if failover else None
    wrong = await verify_phase(cluster, orders, console)
    return Results(stats, failover, caught_up, wrong, len(orders) * cluster.count)


async def hold(cluster: LocalCluster, console: Console) -> None:
    """Keep the cluster up, showing commands to try, until Ctrl-C (or SIGTERM)."""
    raftoral = "raftoral" if shutil.which("raftoral") else f"{sys.executable} -m raftoral.cli"
    connect = ",".join(cluster.addresses())
    console.print("\n[bold]The cluster keeps running.[/] Try, from another terminal:")
    for line in (f"{raftoral} cluster --connect {connect}",
                 f"{raftoral} kv get order/00001 --connect {connect}",
                 f"{raftoral} kv put colour blue --connect {connect}",
                 f"curl -s {cluster.metrics_url(1)} | grep '^raftoral_raft'"):  # fmt: skip
        console.print(f"  {line}", highlight=False, soft_wrap=True)
    console.print("Press Ctrl-C to stop every node.", highlight=False)
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        console.print("\nStopping the cluster ...")
