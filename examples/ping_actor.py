"""A custom actor: an echo service on one process, pinged from another over the actors bus.

python examples/ping_actor.py serve --listen 127.0.0.1:7300 --node-id 2
python examples/ping_actor.py ping --connect 127.0.0.1:7300 --node-id 2 --count 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

import msgspec

import actors
from actors import KINDS, Actor, Address, Bus, Context, handler


class Ping(msgspec.Struct, frozen=True):
    seq: int
    text: str


class Pong(msgspec.Struct, frozen=True):
    seq: int
    text: str
    served: int


# Message kinds travel by name; both processes register the same names.
KINDS.register("example.ping", Ping)
KINDS.register("example.pong", Pong)


class Echo(Actor):
    """Answers each Ping with a Pong: the return value of a handler is the reply."""

    async def on_start(self) -> None:
        self.served = 0

    @handler
    def on_ping(self, msg: Ping, ctx: Context) -> Pong:
        self.served += 1
        return Pong(msg.seq, msg.text.upper(), self.served)


async def serve(listen: str, node_id: int) -> None:
    async with Bus(node_id, listen=listen) as bus:
        await bus.spawn(Echo(), "echo")
        print(f"node {node_id}: actor 'echo' listening on port {bus.port}", flush=True)
        await asyncio.Event().wait()  # serve until Ctrl-C


async def ping(connect: str, node_id: int, count: int, text: str) -> int:
    # A client is a bus without a listening socket; its node id (here the pid) only has to
    # differ from the ids of the other processes talking to the same node.
    async with Bus(os.getpid()) as bus:
        bus.add_peer(node_id, connect)
        echo = Address(node_id, "echo")
        for seq in range(1, count + 1):
            started = time.perf_counter()
            try:
                pong = await bus.ask(echo, Ping(seq, text), timeout=5.0, expect=Pong)
            except actors.ActorsError as error:
                print(f"error: {error}", file=sys.stderr)
                return 3
            elapsed = (time.perf_counter() - started) * 1000
            print(
                f"pong {pong.seq}: {pong.text!r} (message {pong.served} served by {echo}) "
                f"in {elapsed:.2f} ms"
            )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="Ping/echo between two processes.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run the echo actor")
    serve_cmd.add_argument("--listen", default="127.0.0.1:7300", help="HOST:PORT (port 0: any)")
    serve_cmd.add_argument("--node-id", type=int, default=2)
    ping_cmd = commands.add_parser("ping", help="ping the echo actor of a serving process")
    ping_cmd.add_argument("--connect", default="127.0.0.1:7300", help="HOST:PORT of the server")
    ping_cmd.add_argument("--node-id", type=int, default=2, help="node id of the server")
    ping_cmd.add_argument("--count", type=int, default=3)
    ping_cmd.add_argument("--text", default="hello")
    args = parser.parse_args()
    try:
        if args.command == "serve":
            return actors.run(serve(args.listen, args.node_id)) or 0
        return actors.run(ping(args.connect, args.node_id, args.count, args.text))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
