"""Benchmark of the actor bus against raw pyzmq DEALER/ROUTER, across two processes on loopback.

Reports request/reply round trips (rate, p50, p99) and one-way pipelined messages/s, side by side
in the same run: raw pyzmq (blocking, the baseline of the targets), raw zmq.asyncio (what asyncio
alone costs) and the actors bus. Figures are reported, not asserted. Pipelined actors traffic is
flow-controlled (a Sync ask per window of 2000) because the bus drops at the high-water mark.

    python benchmarks/bench_actors.py            # full run
    python benchmarks/bench_actors.py --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec
import zmq
import zmq.asyncio

import actors
from actors import Actor, Address, Bus, Context, KindRegistry, handler

VERSION, PING, DATA, SYNC = b"\x01", b"b.ping", b"b.data", b"b.sync"


class Ping(msgspec.Struct, frozen=True, array_like=True):
    seq: int
    data: bytes


class Data(msgspec.Struct, frozen=True, array_like=True):
    seq: int
    data: bytes


class Sync(msgspec.Struct, frozen=True, array_like=True):
    received: int


KINDS = KindRegistry()
for _name, _type in (("b.ping", Ping), ("b.data", Data), ("b.sync", Sync)):
    KINDS.register(_name, _type)
BODY = msgspec.msgpack.encode(Ping(0, b"x" * 32))
ROUNDS = 5


# -- servers (run in the child process) --------------------------------------------------------


def serve_raw(port: int) -> None:
    """Echo pings, count data, answer syncs with the count: a plain blocking ROUTER loop."""
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.ROUTER)
    sock.bind(f"tcp://127.0.0.1:{port}")
    print("READY", flush=True)
    received = 0
    while True:
        ident, version, kind, body = sock.recv_multipart()
        if kind == DATA:
            received += 1
        elif kind == SYNC:
            sock.send_multipart([ident, version, kind, str(received).encode()])
        else:
            sock.send_multipart([ident, version, kind, body])


class Echo(Actor):
    @handler
    def on_ping(self, msg: Ping, ctx: Context) -> Ping:
        return msg


class Sink(Actor):
    mailbox_capacity = 100_000
    received = 0

    @handler
    def on_data(self, msg: Data, ctx: Context) -> None:
        self.received += 1

    @handler
    def on_sync(self, msg: Sync, ctx: Context) -> Sync:
        return Sync(self.received)


async def serve_actors(port: int) -> None:
    async with Bus(2, listen=f"127.0.0.1:{port}", kinds=KINDS) as bus:
        await bus.spawn(Echo(), "echo")
        await bus.spawn(Sink(), "sink")
        print("READY", flush=True)
        await asyncio.Event().wait()


# -- clients (run in the parent) ---------------------------------------------------------------


def raw_round_trips(sock: zmq.Socket[bytes], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        sock.send_multipart([VERSION, PING, BODY])
        sock.recv_multipart()
        samples.append(time.perf_counter() - started)
    return samples


def raw_pipelined(sock: zmq.Socket[bytes], count: int) -> float:
    sock.send_multipart([VERSION, SYNC, b""])
    base = int(sock.recv_multipart()[2])
    started = time.perf_counter()
    for _ in range(count):
        sock.send_multipart([VERSION, DATA, BODY])
    sock.send_multipart([VERSION, SYNC, b""])
    received = int(sock.recv_multipart()[2]) - base
    elapsed = time.perf_counter() - started
    assert received == count, f"raw: {received} of {count} arrived"
    return count / elapsed


async def asyncio_round_trips(sock: zmq.asyncio.Socket, count: int) -> list[float]:
    """The same round trips from a zmq.asyncio DEALER: what asyncio alone costs."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await sock.send_multipart([VERSION, PING, BODY])
        await sock.recv_multipart()
        samples.append(time.perf_counter() - started)
    return samples


async def asyncio_pipelined(sock: zmq.asyncio.Socket, count: int) -> float:
    await sock.send_multipart([VERSION, SYNC, b""])
    base = int((await sock.recv_multipart())[2])
    started = time.perf_counter()
    for _ in range(count):
        await sock.send_multipart([VERSION, DATA, BODY])
    await sock.send_multipart([VERSION, SYNC, b""])
    received = int((await sock.recv_multipart())[2]) - base
    elapsed = time.perf_counter() - started
    assert received == count, f"zmq.asyncio: {received} of {count} arrived"
    return count / elapsed


async def actor_round_trips(bus: Bus, count: int) -> list[float]:
    echo, ping, samples = Address(2, "echo"), Ping(0, b"x" * 32), []
    for _ in range(count):
        started = time.perf_counter()
        await bus.ask(echo, ping, timeout=5)
        samples.append(time.perf_counter() - started)
    return samples


async def actor_pipelined(bus: Bus, count: int, window: int = 2000) -> float:
    """Tell `count` messages in windows; a Sync ask after each window bounds what is in flight."""
    sink, data = Address(2, "sink"), Data(0, b"x" * 32)
    base = (await bus.ask(sink, Sync(0), expect=Sync)).received
    started = time.perf_counter()
    previous: asyncio.Future[Sync] | None = None
    for sent in range(0, count, window):
        for _ in range(min(window, count - sent)):
            bus.try_send(sink, data)
        current = asyncio.ensure_future(bus.ask(sink, Sync(0), timeout=10, expect=Sync))
        if previous is not None:
            await previous
        previous = current
    assert previous is not None
    received = (await previous).received - base
    elapsed = time.perf_counter() - started
    assert received == count, f"actors: {received} of {count} arrived"
    return count / elapsed


Results = dict[str, tuple[list[float], list[float]]]  # name -> (round-trip samples, rates)


async def measure(raw_port: int, actors_port: int, round_trips: int, messages: int) -> Results:
    """Interleave the three clients in rounds, so a noisy neighbour hits them all alike."""
    blocking: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.DEALER)
    blocking.connect(f"tcp://127.0.0.1:{raw_port}")
    context = zmq.asyncio.Context()
    nonblocking = context.socket(zmq.DEALER)
    nonblocking.connect(f"tcp://127.0.0.1:{raw_port}")
    results: Results = {name: ([], []) for name in ("raw pyzmq", "raw zmq.asyncio", "actors")}
    async with Bus(1, kinds=KINDS) as bus:
        bus.add_peer(2, f"127.0.0.1:{actors_port}")
        raw_round_trips(blocking, 200)  # warm up and wait for the connections
        await asyncio_round_trips(nonblocking, 200)
        await actor_round_trips(bus, 200)
        for _ in range(ROUNDS):
            results["raw pyzmq"][0].extend(raw_round_trips(blocking, round_trips // ROUNDS))
            results["raw zmq.asyncio"][0].extend(
                await asyncio_round_trips(nonblocking, round_trips // ROUNDS)
            )
            results["actors"][0].extend(await actor_round_trips(bus, round_trips // ROUNDS))
        for _ in range(ROUNDS):
            results["raw pyzmq"][1].append(raw_pipelined(blocking, messages // ROUNDS))
            results["raw zmq.asyncio"][1].append(
                await asyncio_pipelined(nonblocking, messages // ROUNDS)
            )
            results["actors"][1].append(await actor_pipelined(bus, messages // ROUNDS))
    blocking.close(linger=0)
    nonblocking.close(linger=0)
    context.term()
    return results


# -- driver --------------------------------------------------------------------------------------


@contextmanager
def server(mode: str) -> Iterator[int]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", mode, "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"
        yield port
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _summary(name: str, samples: list[float], rates: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    row = {
        "rtt_per_s": len(samples) / sum(samples),
        "p50_us": statistics.median(ordered) * 1e6,
        "p99_us": ordered[int(len(ordered) * 0.99)] * 1e6,
        "pipelined_per_s": statistics.median(rates),
    }
    print(
        f"{name:<16} {row['rtt_per_s']:>13,.0f} {row['p50_us']:>9.1f} {row['p99_us']:>9.1f}"
        f" {row['pipelined_per_s']:>15,.0f}"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, a few seconds")
    parser.add_argument("--serve", choices=["raw", "actors"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "raw":
        return serve_raw(args.port)
    if args.serve == "actors":
        return actors.run(serve_actors(args.port))
    round_trips, messages = (5_000, 100_000) if args.quick else (50_000, 1_000_000)
    print(
        f"loop: {'uvloop' if actors.uvloop_available() else 'asyncio'}; {round_trips} round trips"
        f" and {messages} pipelined messages per client, interleaved in {ROUNDS} rounds"
    )
    print(f"{'':<16} {'round trips/s':>13} {'p50 µs':>9} {'p99 µs':>9} {'pipelined msg/s':>15}")
    with server("raw") as raw_port, server("actors") as actors_port:
        results = actors.run(measure(raw_port, actors_port, round_trips, messages))
    rows = {name: _summary(name, *result) for name, result in results.items()}
    raw, act = rows["raw pyzmq"], rows["actors"]
    print(
        f"actors vs raw pyzmq: pipelined {act['pipelined_per_s'] / raw['pipelined_per_s']:.0%} "
        f"(target >= 50%), p50 +{act['p50_us'] / raw['p50_us'] - 1:.0%} (target <= +50%)"
    )


if __name__ == "__main__":
    main()
