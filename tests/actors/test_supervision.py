"""Supervision: a raising handler is logged and counted, the actor restarts through `on_start`,
keeps serving, and is stopped once it fails more often than its restart policy allows."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from actors import (
    Actor,
    Address,
    Context,
    ManualClock,
    NoSuchActor,
    RemoteError,
    RestartPolicy,
    handler,
)
from actors.supervision import RestartTracker
from tests.actors.conftest import MakeBus
from tests.actors.messages import Boom, Ping, Pong, metric, wait_until


class Fragile(Actor):
    """Raises on Boom; counts its starts and stops."""

    restart_policy = RestartPolicy(max_restarts=2, window=60.0, backoff=1.0, max_backoff=4.0)

    def __init__(self) -> None:
        self.starts = 0
        self.stopped = asyncio.Event()

    async def on_start(self) -> None:
        self.starts += 1
        self.served = 0

    async def on_stop(self) -> None:
        self.stopped.set()

    @handler
    def on_ping(self, msg: Ping, ctx: Context) -> Pong:
        self.served += 1
        return Pong(msg.n, incarnation=self.starts)

    @handler
    def on_boom(self, msg: Boom, ctx: Context) -> None:
        raise RuntimeError(msg.reason)


async def test_handler_error_restarts_through_on_start(
    make_bus: MakeBus, registry: CollectorRegistry
) -> None:
    bus = await make_bus(1, clock=ManualClock())
    actor = Fragile()
    to = await bus.spawn(actor, "fragile")
    with capture_logs() as logs:
        with pytest.raises(RemoteError, match="fragile failed on Boom") as failed:
            await bus.ask(to, Boom("first"))
        assert failed.value.code == "actor_failed"
        assert await bus.ask(to, Ping(1)) == Pong(1, incarnation=2)
    assert actor.starts == 2 and actor.served == 1
    assert metric(registry, "actors_restarts_total", actor="fragile") == 1
    errors = [entry for entry in logs if entry["log_level"] == "error"]
    assert errors[0]["actor"] == "fragile" and errors[0]["kind"] == "Boom"
    assert isinstance(errors[0]["exc_info"], RuntimeError)


async def test_remote_message_error_restarts_and_answers(
    make_bus: MakeBus, registry: CollectorRegistry
) -> None:
    server, client = await make_bus(2), await make_bus(1, listen=None)
    actor = Fragile()
    await server.spawn(actor, "fragile")
    client.add_peer(2, f"127.0.0.1:{server.port}")
    with pytest.raises(RemoteError) as failed:
        await client.ask(Address(2, "fragile"), Boom())
    assert failed.value.code == "actor_failed"
    assert await client.ask(Address(2, "fragile"), Ping(2)) == Pong(2, incarnation=2)
    assert metric(registry, "actors_restarts_total", actor="fragile") == 1
    assert metric(registry, "actors_messages_total", actor="fragile") == 2


async def test_backoff_then_stop_at_the_restart_limit(
    make_bus: MakeBus, registry: CollectorRegistry
) -> None:
    clock = ManualClock()
    bus = await make_bus(1, clock=clock)
    actor = Fragile()
    to = await bus.spawn(actor, "fragile")
    bus.try_send(to, Boom())
    await wait_until(lambda: actor.starts == 2)  # first restart: immediate
    bus.try_send(to, Boom())
    await wait_until(lambda: clock.pending == 1)  # second restart waits `backoff` seconds
    clock.advance(0.5)
    assert actor.starts == 2
    clock.advance(0.5)
    await wait_until(lambda: actor.starts == 3)
    bus.try_send(to, Boom())  # third failure within the window: over the limit
    await asyncio.wait_for(actor.stopped.wait(), 5)
    assert "fragile" not in bus.actors
    assert metric(registry, "actors_restarts_total", actor="fragile") == 2
    with pytest.raises(NoSuchActor):
        await bus.send(to, Ping(0))


def test_restart_tracker_delays_and_window() -> None:
    tracker = RestartTracker(
        RestartPolicy(max_restarts=3, window=10.0, backoff=0.5, max_backoff=1.0)
    )
    assert [tracker.next_delay(t) for t in (0.0, 1.0, 2.0)] == [0.0, 0.5, 1.0]
    assert tracker.next_delay(3.0) is None
    fresh = RestartTracker(RestartPolicy(max_restarts=1, window=10.0))
    assert fresh.next_delay(0.0) == 0.0
    assert fresh.next_delay(10.0) == 0.0, "restarts older than the window are forgotten"


class BadStart(Actor):
    async def on_start(self) -> None:
        raise RuntimeError("cannot start")


async def test_on_start_error_at_spawn_propagates(make_bus: MakeBus) -> None:
    bus = await make_bus(1)
    with pytest.raises(RuntimeError, match="cannot start"):
        await bus.spawn(BadStart(), "bad")
    assert "bad" not in bus.actors
