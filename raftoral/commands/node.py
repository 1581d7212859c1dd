"""`raftoral node`: run one node in the foreground until SIGTERM/SIGINT (clean shutdown: a leader
hands leadership over first) or SIGKILL (it recovers from its data dir on restart)."""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

import actors
from raftoral.commands.app_loader import load_app
from raftoral.node import Node, NodeConfig, RaftTiming
from raftoral.node.config import parse_addresses, parse_peers
from raftoral.workflow import App

EXIT_OK = 0


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "node",
        help="run one node in the foreground",
        description=(
            "Run one raftoral node until SIGTERM/SIGINT. A first start needs exactly one of "
            "--bootstrap (a new one-node cluster), --peers (every initial member, this node "
            "included) or --join (seed nodes of a running cluster; an id is assigned). A restart "
            "with the same --data-dir keeps the node's id and cluster."
        ),
    )
    parser.add_argument("--listen", required=True, metavar="HOST:PORT")
    parser.add_argument("--data-dir", required=True, metavar="DIR")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--bootstrap", action="store_true", help="start a new one-node cluster")
    mode.add_argument("--peers", metavar="ID=HOST:PORT,...", help="every initial member")
    mode.add_argument("--join", metavar="HOST:PORT,...", help="seed nodes of a running cluster")
    parser.add_argument("--node-id", type=int, help="required except with --join")
    parser.add_argument(
        "--app",
        metavar="MODULE[:ATTR]",
        help="the workflow App to run: a module importable from the current directory or a path"
        " to a .py file; ATTR defaults to `app` (without it the node runs no workflows)",
    )
    parser.add_argument("--metrics-port", type=int, help="serve Prometheus /metrics on this port")
    tuning = parser.add_argument_group("Raft tuning (defaults suit a LAN)")
    default = RaftTiming()
    tuning.add_argument(
        "--tick-ms", type=float, default=default.tick_interval * 1000, help="ms per Raft tick"
    )
    tuning.add_argument(
        "--election-tick", type=int, default=default.election_tick,
        help="ticks without a leader before an election (randomised up to twice that)",
    )
    tuning.add_argument(
        "--snapshot-entries", type=int, default=default.snapshot_entries,
        help="compact the log into a snapshot once it holds this many applied entries",
    )
    tuning.add_argument(
        "--max-voters", type=int, default=default.max_voters,
        help="joining learners are promoted to voters while there are fewer voters",
    )
    parser.set_defaults(handler=run)


def config_from_args(args: argparse.Namespace) -> NodeConfig:
    return NodeConfig(
        listen=args.listen,
        data_dir=args.data_dir,
        node_id=args.node_id,
        bootstrap=args.bootstrap,
        peers=parse_peers(args.peers) if args.peers else {},
        join=parse_addresses(args.join) if args.join else (),
        metrics_port=args.metrics_port,
        timing=RaftTiming(
            tick_interval=args.tick_ms / 1000,
            election_tick=args.election_tick,
            snapshot_entries=args.snapshot_entries,
            max_voters=args.max_voters,
        ),
    )


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    config.validate()
    app = load_app(args.app) if args.app else None
    actors.run(serve(config, app))
    return EXIT_OK


async def serve(config: NodeConfig, app: App | None = None) -> None:
    node = await Node.start(config, app)
    print(f"READY node={node.node_id} listen={config.listen}", flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await stopping.wait()
    finally:
        await node.stop()

