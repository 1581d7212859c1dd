"""The simulator's command line: run a range of seeds, show progress, summarise, exit 0 or 1.

`python -m raftoral.sim --seeds 0..999 --nodes 3 --steps 2000 [--jobs 2] [-v]`
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from raftoral.sim.simulation import ACTION_STATS, FAULT_STATS, SimResult, run_seed


def parse_seeds(text: str) -> range:
    """`A..B` (both ends included) or a single seed `A`."""
    first, sep, last = text.partition("..")
    try:
        lo, hi = int(first), int(last if sep else first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be N or A..B, not {text!r}") from None
    if hi < lo:
        raise argparse.ArgumentTypeError(f"empty seed range {text!r}")
    return range(lo, hi + 1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m raftoral.sim",
        description="Seeded deterministic simulation of Raft clusters under faults.",
    )
    parser.add_argument("--seeds", type=parse_seeds, required=True, help="N or A..B (inclusive)")
    parser.add_argument("--nodes", type=int, default=3, help="cluster size (default 3)")
    parser.add_argument("--steps", type=int, default=2000, help="chaos events per seed")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every event")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console()
    started = time.perf_counter()
    results: list[SimResult] = []
    with _progress(console, args.verbose) as progress:
        task = progress.add_task("seeds", total=len(args.seeds))
        for result in _run_all(args, console):
            results.append(result)
            progress.advance(task)
            if not result.ok:
                progress.console.print(f"[bold red]{result.report()}[/]", highlight=False)
    _summarise(console, results, time.perf_counter() - started)
    return 0 if all(result.ok for result in results) else 1


def _progress(console: Console, disabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=disabled,
    )


def _run_all(args: argparse.Namespace, console: Console) -> Iterator[SimResult]:
    """Results in seed order; -v streams every event of every seed (in this process)."""
    if args.verbose or args.jobs <= 1:
        sink = partial(console.print, highlight=False, markup=False) if args.verbose else None
        for seed in args.seeds:
            yield run_seed(seed, nodes=args.nodes, steps=args.steps, sink=sink)
        return
    run = partial(run_seed, nodes=args.nodes, steps=args.steps)
    with ProcessPoolExecutor(args.jobs) as pool:
        yield from pool.map(run, args.seeds, chunksize=8)


def _summarise(console: Console, results: list[SimResult], elapsed: float) -> None:
    stats: Counter[str] = Counter()
    for result in results:
        stats.update(result.stats)
    failed = [result for result in results if not result.ok]
    table = Table(title="simulation summary", show_header=False)
    rows = [
        ("seeds", f"{len(results)} ({len(results) - len(failed)} passed, {len(failed)} failed)"),
        ("events", f"{sum(r.events for r in results):,}"),
        ("virtual time", f"{sum(r.virtual_ms for r in results) / 1000:,.1f} s"),
        ("invariant checks", f"{sum(r.checks for r in results):,}"),
        ("faults injected", f"{sum(r.faults for r in results):,}"),
        *((f"  {name}", f"{stats[name]:,}") for name in FAULT_STATS),
        ("restarts", f"{stats['restarts']:,}"),
        ("core II actions", ""),
        *((f"  {name}", f"{stats[name]:,}") for name in ACTION_STATS),
        ("proposals accepted", f"{stats['proposals_accepted']:,}"),
        ("wall time", f"{elapsed:.1f} s"),
        ("seeds/s", f"{len(results) / elapsed:.1f}" if elapsed else "-"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    for result in failed:
        invariant = result.violation.invariant if result.violation else "?"
        console.print(
            f"[red]FAIL seed {result.seed} ({invariant}): {result.replay_command()}[/]",
            highlight=False,
        )
