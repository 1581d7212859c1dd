"""Two real OS processes on 127.0.0.1: the test's bus and a node process exchange messages; the
node is SIGKILLed and restarted on the same port, and the test's bus reaches it again unchanged."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from actors import Actor, Address, AskTimeout, Bus, Context, handler
from tests.actors.conftest import MakeBus
from tests.actors.messages import Hello, Ping, Pong
from tests.conftest import die_with_parent

ROOT = Path(__file__).resolve().parents[2]
StartNode = Callable[[int, int, int], subprocess.Popen[str]]


class Collector(Actor):
    """Records the Hello each node incarnation sends when it starts."""

    def __init__(self) -> None:
        self.hellos: dict[tuple[int, int], asyncio.Event] = {}

    def seen(self, node: int, incarnation: int) -> asyncio.Event:
        return self.hellos.setdefault((node, incarnation), asyncio.Event())

    @handler
    def on_hello(self, msg: Hello, ctx: Context) -> None:
        self.seen(msg.node, msg.incarnation).set()


@pytest.fixture
def start_node() -> Iterator[StartNode]:
    """`start_node(port, peer_port, incarnation)` runs node 2; every process started is killed
    and reaped when the test ends, pass or fail."""
    procs: list[subprocess.Popen[str]] = []

    def start(port: int, peer_port: int, incarnation: int) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "tests.actors.echo_node", "--node-id", "2"]
        command += ["--listen", f"127.0.0.1:{port}", "--peer", f"1=127.0.0.1:{peer_port}"]
        command += ["--incarnation", str(incarnation)]
        proc = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, text=True, preexec_fn=die_with_parent
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


async def ready_port(proc: subprocess.Popen[str]) -> int:
    """The port the node reports once it listens (`READY <port>`)."""
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 15)
    assert line.startswith("READY "), f"node did not start: {line!r}"
    return int(line.split()[1])


async def ask_until_answered(bus: Bus, to: Address, message: Ping, within: float) -> object:
    """Ask again after each short timeout until answered (the peer may still be reconnecting)."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await bus.ask(to, message, timeout=0.5)
        except AskTimeout:
            if time.monotonic() > deadline:
                raise


async def test_sigkilled_node_restarted_on_same_port_is_reached_again(
    make_bus: MakeBus, start_node: StartNode
) -> None:
    bus = await make_bus(1)
    collector = Collector()
    await bus.spawn(collector, "collector")
    echo = Address(2, "echo")

    first = start_node(0, bus.port or 0, 1)
    port = await ready_port(first)
    await asyncio.wait_for(collector.seen(2, 1).wait(), 15)  # node 2 -> node 1 works
    bus.add_peer(2, f"127.0.0.1:{port}")
    assert await bus.ask(echo, Ping(1), timeout=10) == Pong(1, incarnation=1)

    first.send_signal(signal.SIGKILL)
    await asyncio.wait_for(asyncio.to_thread(first.wait), 10)
    with pytest.raises(AskTimeout, match="2/echo"):
        await bus.ask(echo, Ping(2), timeout=0.3)

    second = start_node(port, bus.port or 0, 2)
    assert await ready_port(second) == port
    await asyncio.wait_for(collector.seen(2, 2).wait(), 15)  # the restarted node reaches us
    reply = await ask_until_answered(bus, echo, Ping(3), within=15)
    assert reply == Pong(3, incarnation=2)  # and we reach it, with no restart on our side
    assert bus.peers == {2: f"127.0.0.1:{port}"}


async def test_new_incarnation_takes_over_the_identity_of_a_frozen_one(
    make_bus: MakeBus, start_node: StartNode
) -> None:
    """ROUTER_HANDOVER: while the old process is frozen (SIGSTOP, its connection still open), a
    new process of the same node id connects with the same DEALER identity and is heard."""
    bus = await make_bus(1)
    collector = Collector()
    await bus.spawn(collector, "collector")
    frozen = start_node(0, bus.port or 0, 1)
    await ready_port(frozen)
    await asyncio.wait_for(collector.seen(2, 1).wait(), 15)
    frozen.send_signal(signal.SIGSTOP)
    await ready_port(start_node(0, bus.port or 0, 2))
    await asyncio.wait_for(collector.seen(2, 2).wait(), 15)
