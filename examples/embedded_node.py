"""A raftoral node embedded in an existing asyncio service: a tiny TCP order service whose handler
starts the payments workflow (examples/payments.py) with node.start_workflow on the same loop.

    python examples/embedded_node.py --data-dir data/embedded          # one-node cluster
    python examples/embedded_node.py --data-dir data/e3 --node-id 3 --listen 127.0.0.1:7403 \
        --peers 1=127.0.0.1:7401,2=127.0.0.1:7402,3=127.0.0.1:7403
    # ...the third member of a cluster whose nodes 1 and 2 already run
    # (`raftoral node ... --app examples/payments.py`)

It starts the node (bootstraps a one-node cluster unless --peers is given), serves orders on
--service (one JSON order per line in, one JSON receipt per line out), sends itself one order
through that service, prints `receipt: {...}` and stops cleanly. Run it again with the same
--data-dir: the order id is the workflow id, so the committed receipt comes back unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import msgspec
from payments import Order, Receipt, app

import actors
import raftoral
from raftoral.node.config import parse_peers


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="the node's durable state")
    parser.add_argument("--listen", default="127.0.0.1:7401", help="the node's HOST:PORT")
    parser.add_argument("--node-id", type=int, default=1)
    parser.add_argument("--peers", help="ID=HOST:PORT,... (default: bootstrap a one-node cluster)")
    parser.add_argument("--service", default="127.0.0.1:0", help="the order service's HOST:PORT")
    parser.add_argument("--order-id", default="o-1")
    parser.add_argument("--item", default="tea")
    parser.add_argument("--qty", type=int, default=2)
    return parser.parse_args()


def node_config(args: argparse.Namespace) -> raftoral.NodeConfig:
    peers = parse_peers(args.peers) if args.peers else {}
    return raftoral.NodeConfig(
        listen=args.listen, data_dir=args.data_dir, node_id=args.node_id,
        bootstrap=not peers, peers=peers,
    )  # fmt: skip


class OrderService:
    """The existing service: reads one JSON order per line, answers one JSON line per order
    (the receipt, or {"error": ...}). Every order runs as a durable workflow on `node`."""

    def __init__(self, node: raftoral.Node) -> None:
        self.node = node

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                writer.write(msgspec.json.encode(await self.place(line)) + b"\n")
                await writer.drain()
        finally:
            writer.close()

    async def place(self, line: bytes) -> Receipt | dict[str, str]:
        try:
            order = msgspec.json.decode(line, type=Order)
            handle = await self.node.start_workflow(
                "process_order", order, workflow_id=f"order-{order.order_id}"
            )
            receipt: Receipt = await handle.result(timeout=30.0)
            return receipt
        except (msgspec.ValidationError, raftoral.RaftoralError) as exc:
            return {"error": str(exc)}


async def order_once(host: str, port: int, order: Order) -> bytes:
    """A client of the service: one order, its answer line."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(msgspec.json.encode(order) + b"\n")
        await writer.drain()
        return (await reader.readline()).strip()
    finally:
        writer.close()
        await writer.wait_closed()


async def main(args: argparse.Namespace) -> int:
    node = await raftoral.Node.start(node_config(args), app)
    try:
        host, _, port = args.service.rpartition(":")
        server = await asyncio.start_server(OrderService(node).handle, host, int(port))
        async with server:
            bound = server.sockets[0].getsockname()[1]
            print(f"node {node.node_id} at {args.listen}; order service at {host}:{bound}")
            answer = await order_once(host, bound, Order(args.order_id, args.item, args.qty))
        print(f"receipt: {answer.decode()}", flush=True)
        return 1 if b'"error"' in answer else 0
    finally:
        await node.stop()


if __name__ == "__main__":
    sys.exit(actors.run(main(parse_args())))
