"""Benchmark of durable workflows: 3 raftoral nodes (separate processes, durable SQLite log) against
DBOS on SQLite (one process), on loopback, in the same command (issue 7).

It reports, for a workflow of three checkpoint_compute steps (benchmarks/workflow_app.py): runs
finished per second with many in flight, and the p50/p99 latency (start to result) of runs one
at a time; and checkpoints per second inside a workflow looping over 1000 steps: `ctx.checkpoint`
(pipelined; the target's figure) and `ctx.checkpoint_compute` (each waits for its commit).

- raftoral: `raftoral node --peers ... --app benchmarks/workflow_app.py` processes; the load comes
  from a `raftoral.Client` in this process, connected to the leader (which owns the runs it
  starts): start committed on 3 nodes, 3 steps committed, end committed, result read back.
- DBOS: a child process with `DBOS(...)` on a SQLite system database in a temp dir; the same
  workflow of 3 `@DBOS.step` steps called from a thread pool (many in flight) or one at a time,
  and the 1000-step loop of `@DBOS.step` calls. No client hop, no replication.

    python benchmarks/bench_workflows.py            # full run (a minute or two)
    python benchmarks/bench_workflows.py --quick    # well under a minute
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench_replication import _raftoral_leader, free_ports, percentiles, processes
from rich.console import Console
from rich.table import Table

import actors
import raftoral

APP = Path(__file__).resolve().with_name("workflow_app.py")
TARGET_RATIO = 10.0  # raftoral's workflows/s over DBOS's (issue 7)
TARGET_CHECKPOINTS = 5_000.0  # checkpoints/s inside the loop
LOOP_STEPS = 1000


@dataclass(frozen=True)
class Plan:
    count: int  # workflows in the throughput run
    inflight: int  # workflows outstanding at once
    sequential: int  # workflows in the latency run
    loops: int  # runs of the 1000-step loop (the best is reported)


@dataclass(frozen=True)
class Figures:
    rate: float  # workflows/s with many in flight
    p50_ms: float
    p99_ms: float
    checkpoints: float  # checkpoints/s inside the loop of checkpoint (pipelined) / DBOS steps
    computes: float  # checkpoints/s inside the loop of checkpoint_compute / DBOS steps


# -- raftoral --------------------------------------------------------------------------------


def measure_raftoral(plan: Plan, nodes: int = 3) -> Figures:
    addresses = [f"127.0.0.1:{port}" for port in free_ports(nodes)]
    peers = ",".join(f"{i}={address}" for i, address in enumerate(addresses, start=1))
    with tempfile.TemporaryDirectory(prefix="bench-workflows-") as root, processes() as procs:
        for i, address in enumerate(addresses, start=1):
            command = [sys.executable, "-m", "raftoral.cli", "node", "--listen", address,
                       "--data-dir", f"{root}/n{i}", "--peers", peers, "--node-id", str(i),
                       "--app", str(APP)]  # fmt: skip
            with Path(root, f"n{i}.log").open("wb") as log:
                procs.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                              start_new_session=True))  # fmt: skip
        if os.environ.get("BENCH_PIDS_FILE"):  # for profiling the nodes (py-spy) from outside
            Path(os.environ["BENCH_PIDS_FILE"]).write_text(" ".join(str(p.pid) for p in procs))
        return actors.run(_drive_raftoral(addresses, plan))


async def _drive_raftoral(addresses: list[str], plan: Plan) -> Figures:
    leader = await _raftoral_leader(addresses)
    async with raftoral.Client([leader], timeout=60.0) as client:
        await _raftoral_load(client, min(200, plan.count), plan.inflight)  # warm up
        rate = await _raftoral_load(client, plan.count, plan.inflight)
        latencies = [await _raftoral_one(client, "three_steps", i) for i in range(plan.sequential)]
        loop = min([await _raftoral_one(client, "loop", LOOP_STEPS) for _ in range(plan.loops)])
        computes = await _raftoral_one(client, "loop_compute", LOOP_STEPS)
    return Figures(rate, *percentiles(latencies), LOOP_STEPS / loop, LOOP_STEPS / computes)


async def _raftoral_one(client: raftoral.Client, name: str, value: int) -> float:
    """Seconds from start to result of one run."""
    start = time.perf_counter()
    handle = await client.start_workflow(name, value)
    await handle.result(timeout=60.0)
    return time.perf_counter() - start


async def _raftoral_load(client: raftoral.Client, count: int, inflight: int) -> float:
    numbers = itertools.count()

    async def worker() -> None:
        while (i := next(numbers)) < count:
            await _raftoral_one(client, "three_steps", i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(inflight)))
    return count / (time.perf_counter() - start)


# -- DBOS ------------------------------------------------------------------------------------


def measure_dbos(plan: Plan) -> Figures:
    """Runs serve_dbos in a child process (DBOS keeps global state) and reads its JSON line."""
    command = [sys.executable, __file__, "--dbos-child", json.dumps(asdict(plan))]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"the DBOS baseline failed (pip install dbos?):\n{done.stderr[-2000:]}")
    return Figures(**json.loads(lines[-1]))


def serve_dbos(plan: Plan) -> None:
    """In the child: DBOS on SQLite in a temp dir, the same workflows, figures as one JSON line."""
    from dbos import DBOS

    with tempfile.TemporaryDirectory(prefix="bench-dbos-") as root:
        url = f"sqlite:///{root}/dbos.sqlite"
        DBOS(config={"name": "bench", "system_database_url": url, "log_level": "WARNING"})
        three_steps, loop = _dbos_workflows(DBOS)
        DBOS.launch()
        try:
            figures = _dbos_figures(plan, three_steps, loop)
        finally:
            DBOS.destroy()
    print(json.dumps(asdict(figures)), flush=True)


def _dbos_workflows(dbos: Any) -> tuple[Callable[[int], int], Callable[[int], int]]:
    @dbos.step()  # type: ignore[untyped-decorator]
    def step(value: int) -> int:
        return value + 1

    @dbos.workflow()  # type: ignore[untyped-decorator]
    def three_steps(value: int) -> int:
        return step(step(step(value)))  # type: ignore[no-any-return]

    @dbos.workflow()  # type: ignore[untyped-decorator]
    def loop(steps: int) -> int:
        total = 0
        for _ in range(steps):
            total = step(total)
        return total

    return three_steps, loop


def _dbos_figures(
    plan: Plan, three_steps: Callable[[int], int], loop: Callable[[int], int]
) -> Figures:
    with ThreadPoolExecutor(plan.inflight) as pool:
        list(pool.map(three_steps, range(min(200, plan.count))))  # warm up
        start = time.perf_counter()
        list(pool.map(three_steps, range(plan.count)))
        rate = plan.count / (time.perf_counter() - start)
    latencies = [_timed(three_steps, i) for i in range(plan.sequential)]
    best = min(_timed(loop, LOOP_STEPS) for _ in range(plan.loops))
    steps = LOOP_STEPS / best
    return Figures(rate, *percentiles(latencies), steps, steps)  # one kind of step in DBOS


def _timed(fn: Callable[[int], int], value: int) -> float:
    start = time.perf_counter()
    fn(value)
    return time.perf_counter() - start


# -- report ----------------------------------------------------------------------------------


def report(ours: Figures, base: Figures) -> Table:
    table = Table(title="workflows: raftoral (3 nodes, SQLite, fsync) vs DBOS (SQLite, 1 process)")
    for header in ("figure", "raftoral", "DBOS", "ratio", "target", "verdict"):
        table.add_column(header, justify="right")
    for name, mine, theirs, target, ok in _rows(ours, base):
        verdict = "-" if ok is None else ("meets" if ok else "MISSES")
        table.add_row(name, _num(mine), _num(theirs), f"{mine / theirs:.2f}x", target, verdict)
    return table


def _rows(ours: Figures, base: Figures) -> list[tuple[str, float, float, str, bool | None]]:
    """(figure, raftoral, DBOS, target, met) per row; the targets are issue 7's."""
    return [
        ("3-step wf/s, many in flight", ours.rate, base.rate, f">= {TARGET_RATIO:g}x DBOS",
         ours.rate >= TARGET_RATIO * base.rate),
        ("3-step p50 ms, 1 at a time", ours.p50_ms, base.p50_ms, "< DBOS",
         ours.p50_ms < base.p50_ms),
        ("3-step p99 ms, 1 at a time", ours.p99_ms, base.p99_ms, "-", None),
        ("checkpoint/s, 1000-step loop", ours.checkpoints, base.checkpoints,
         f">= {TARGET_CHECKPOINTS:,.0f}/s", ours.checkpoints >= TARGET_CHECKPOINTS),
        ("checkpoint_compute/s, loop", ours.computes, base.computes, "-", None),
    ]  # fmt: skip


def _num(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer workflows: well under a minute")
    parser.add_argument("--inflight", type=int, default=100, help="workflows outstanding at once")
    parser.add_argument("--no-baseline", action="store_true", help="skip DBOS")
    parser.add_argument("--dbos-child", metavar="PLAN", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.dbos_child:
        serve_dbos(Plan(**json.loads(args.dbos_child)))
        return
    plan = Plan(count=2_000, inflight=args.inflight, sequential=300, loops=3)
    if args.quick:
        plan = Plan(count=500, inflight=args.inflight, sequential=100, loops=1)
    console = Console(width=max(100, Console().width))
    console.print("[bold]raftoral[/] (3 nodes) …")
    ours = measure_raftoral(plan)
    if args.no_baseline:
        return
    console.print("[bold]DBOS[/] (SQLite, one process) …")
    base = measure_dbos(plan)
    console.print(report(ours, base))
    console.print(f"plan: {plan}; {os.cpu_count()} CPUs; figures reported, never asserted")


if __name__ == "__main__":
    main()
