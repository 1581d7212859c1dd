"""`raftoral demo`: a local cluster of `raftoral node` processes running workflows while a node is
SIGKILLed and restarted (raftoral/demo/live.py), or the simulator with `--simulated`."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

import actors
from raftoral.commands.connect import EXIT_REJECTED, EXIT_UNREACHABLE, fail
from raftoral.demo.live import NoLeader, run_live
from raftoral.demo.processes import LocalCluster, NodeExited, PortInUse

EXIT_INTERRUPTED = 130
MAX_NODES = 9


def register(commands: Any) -> None:
    demo = commands.add_parser(
        "demo", help="run a local cluster of node processes through a failover",
        description="Start a local cluster of `raftoral node` processes on 127.0.0.1 (node i "
        "listens on BASE_PORT + i - 1 and serves Prometheus metrics on BASE_PORT + 100 + i - 1), "
        "each running the demo app (raftoral.demo.app), run process_order workflows and one "
        "order_loop through the client with progress bars, SIGKILL a node halfway (the leader "
        "unless it is the client's node, which owns the runs), restart it and watch it catch up, "
        "describe every run on every node, check every charge happened once, print the results "
        "and stop every process it started. Exit codes: 0 ok, 1 a run differs between nodes or "
        "a charge did not happen exactly once, 2 bad usage or a port already in use (one line "
        "on stderr), 3 the nodes did not come up or elect a leader in time, 130 interrupted.",
    )  # fmt: skip
    demo.add_argument("--nodes", type=int, default=3, help=f"cluster size, 1..{MAX_NODES} "
                      "(default 3; the failover needs 3 or more)")  # fmt: skip
    demo.add_argument("--base-port", type=int, default=7101, metavar="PORT",
                      help="node 1's port (default 7101)")  # fmt: skip
    demo.add_argument("--data-dir", type=Path, metavar="DIR",
                      help="where the nodes keep their data and logs (default: a fresh temporary "
                      "dir, removed at the end unless --keep-running); a DIR with data from an "
                      "earlier run restarts that cluster")  # fmt: skip
    demo.add_argument(
        "--keep-running",
        action="store_true",
        help="leave the cluster up for the other commands until Ctrl-C",
    )
    demo.add_argument(
        "--workflows", type=int, default=200, help="process_order workflows to run (default 200)"
    )
    demo.add_argument(
        "--checkpoints", type=int, default=1000, help="checkpoints of the order_loop (default 1000)"
    )
    demo.add_argument(
        "--simulated",
        action="store_true",
        help="run the deterministic simulator instead of processes",
    )
    demo.add_argument(
        "--seeds", type=int, default=20, help="with --simulated: seeded runs (default 20)"
    )
    demo.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.simulated:
        from raftoral.demo.simulated import run_simulated_demo  # keeps `raftoral node` start fast

        return run_simulated_demo(nodes=args.nodes, seeds=args.seeds)
    problem = _usage_problem(args)
    if problem:
        return fail(problem, EXIT_REJECTED)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="raftoral-demo-"))
    cluster = LocalCluster(args.nodes, args.base_port, data_dir.resolve())
    try:
        cluster.check_ports()
        return _run_cluster(cluster, args)
    except PortInUse as err:
        return fail(err.message, EXIT_REJECTED)
    finally:
        if args.data_dir is None and not args.keep_running:
            shutil.rmtree(data_dir, ignore_errors=True)
            print(f"Removed the temporary data dir {data_dir} (--data-dir DIR keeps one).")


def _usage_problem(args: argparse.Namespace) -> str | None:
    if not 1 <= args.nodes <= MAX_NODES:
        return f"--nodes must be between 1 and {MAX_NODES}, not {args.nodes}"
    if args.workflows < 2:
        return f"--workflows must be at least 2, not {args.workflows}"
    if args.checkpoints < 1:
        return f"--checkpoints must be at least 1, not {args.checkpoints}"
    if not 1024 <= args.base_port <= 65535 - 100 - args.nodes:
        return (f"--base-port must leave room for {args.nodes} nodes and their metrics ports "
                f"(1024..{65435 - args.nodes})")  # fmt: skip
    return None


def _run_cluster(cluster: LocalCluster, args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    try:
        workload = (args.workflows, args.checkpoints)
        return actors.run(run_live(cluster, workload, args.keep_running, console))
    except (NoLeader, NodeExited) as err:
        return fail(err.message, EXIT_UNREACHABLE)
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("\ninterrupted")
        return EXIT_INTERRUPTED
    finally:
        _stop(cluster, console)


def _stop(cluster: LocalCluster, console: Console) -> None:
    """Stop every node, with Ctrl-C ignored meanwhile so that no process is left behind."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        cluster.stop_all()
    finally:
        signal.signal(signal.SIGINT, previous)
    pids = " ".join(str(pid) for pid in cluster.started)
    console.print(f"Stopped every node process the demo started (pids {pids}).")
