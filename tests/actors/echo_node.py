"""A node process for the multi-process tests: an echo actor, and a Hello to node 1 at start.

python -m tests.actors.echo_node --node-id 2 --listen 127.0.0.1:PORT --peer 1=HOST:PORT
"""

from __future__ import annotations

import argparse
import asyncio

import actors
from actors import Actor, Address, Bus, Context, handler
from tests.actors.messages import Hello, Ping, Pong, make_kinds


class Echo(Actor):
    def __init__(self, incarnation: int) -> None:
        self.incarnation = incarnation

    @handler
    def on_ping(self, msg: Ping, ctx: Context) -> Pong:
        return Pong(msg.n, self.incarnation)


async def serve(args: argparse.Namespace) -> None:
    async with Bus(args.node_id, listen=args.listen, kinds=make_kinds()) as bus:
        peer_id, _, endpoint = args.peer.partition("=")
        bus.add_peer(int(peer_id), endpoint)
        await bus.spawn(Echo(args.incarnation), "echo")
        await bus.send(Address(int(peer_id), "collector"), Hello(args.node_id, args.incarnation))
        print(f"READY {bus.port}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--node-id", type=int, required=True)
    parser.add_argument("--listen", required=True)
    parser.add_argument("--peer", required=True, help="ID=HOST:PORT of the test's bus")
    parser.add_argument("--incarnation", type=int, default=1)
    actors.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
