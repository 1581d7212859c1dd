"""The runtime's metrics under their DESIGN.md names, read from an isolated registry."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from actors import Actor, Address, Bus, Context, TransportOptions, handler, metrics_for
from tests.actors.conftest import MakeBus
from tests.actors.messages import Ping, Pong, Tick, metric
from tests.actors.test_mailbox import Gate


class Echo(Actor):
    @handler
    def on_ping(self, msg: Ping, ctx: Context) -> Pong:
        return Pong(msg.n)


async def test_messages_handler_seconds_and_mailbox_depth(
    make_bus: MakeBus, registry: CollectorRegistry
) -> None:
    bus = await make_bus(1)
    echo = await bus.spawn(Echo(), "echo")
    for n in range(5):
        await bus.ask(echo, Ping(n))
    assert metric(registry, "actors_messages_total", actor="echo") == 5
    assert metric(registry, "actors_handler_seconds_count", actor="echo") == 5
    assert metric(registry, "actors_handler_seconds_bucket", actor="echo", le="+Inf") == 5
    assert metric(registry, "actors_handler_seconds_sum", actor="echo") > 0

    gate = Gate()
    to = await bus.spawn(gate, "gate")
    await bus.send(to, Ping(0))
    await asyncio.wait_for(gate.entered.wait(), 5)
    bus.try_send(to, Ping(1))
    bus.try_send(to, Ping(2))
    assert metric(registry, "actors_mailbox_depth", actor="gate") == 2
    gate.release.set()
    await bus.ask(to, Ping(3))
    assert metric(registry, "actors_mailbox_depth", actor="gate") == 0


async def test_dropped_sends_at_the_high_water_mark_are_counted(
    make_bus: MakeBus, registry: CollectorRegistry
) -> None:
    bus = await make_bus(1, listen=None, options=TransportOptions(hwm=1, max_batch=1))
    bus.add_peer(2, "127.0.0.1:1")  # nothing listens: the DEALER queue fills to its HWM
    for n in range(10):
        bus.try_send(Address(2, "x"), Tick(n))
    bus.flush()
    # One message fits the queue (SNDHWM=1); the other nine are dropped, not blocking the loop.
    assert metric(registry, "actors_dropped_sends_total", peer="2") == 9


def test_metrics_are_per_registry() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    assert metrics_for(first) is metrics_for(first)
    assert metrics_for(first) is not metrics_for(second)
    assert isinstance(Bus(1, registry=first).metrics, type(metrics_for(first)))
