"""Request/reply: replies by return value or `ctx.reply`, deadlines on the runtime clock, errors."""

from __future__ import annotations

import asyncio

import pytest

from actors import (
    Actor,
    ActorsError,
    Address,
    AskTimeout,
    Context,
    ManualClock,
    NoSuchActor,
    RemoteError,
    UnknownKind,
    UnknownPeer,
    handler,
)
from tests.actors.conftest import MakeBus
from tests.actors.messages import Boom, Hello, Ping, Pong, Tick, wait_until


class Replier(Actor):
    """Answers Ping by returning, Tick later through a stored context, Boom with ctx.fail."""

    def __init__(self) -> None:
        self.parked: list[Context] = []

    @handler
    async def on_ping(self, msg: Ping, ctx: Context) -> Pong:
        return Pong(msg.n)

    @handler
    def on_tick(self, msg: Tick, ctx: Context) -> None:
        if msg.n == 0:
            self.parked.append(ctx)  # answered when Tick(n > 0) arrives
        else:
            for parked in self.parked:
                parked.reply(Pong(msg.n))

    @handler
    def on_boom(self, msg: Boom, ctx: Context) -> None:
        ctx.fail("refused", msg.reason)


async def test_reply_by_return_and_by_ctx_reply(make_bus: MakeBus) -> None:
    bus = await make_bus(1)
    actor = Replier()
    to = await bus.spawn(actor, "replier")
    assert await bus.ask(to, Ping(3), expect=Pong) == Pong(3)
    waiting = asyncio.create_task(bus.ask(to, Tick(0)))
    await wait_until(lambda: len(actor.parked) == 1)
    await bus.send(to, Tick(9))
    assert await asyncio.wait_for(waiting, 5) == Pong(9)


async def test_ask_timeout_names_target_and_kind(make_bus: MakeBus) -> None:
    clock = ManualClock()
    bus = await make_bus(1, clock=clock)
    actor = Replier()
    to = await bus.spawn(actor, "replier")
    waiting = asyncio.create_task(bus.ask(to, Tick(0), timeout=2.0))
    await wait_until(lambda: len(actor.parked) == 1)
    clock.advance(1.9)
    assert not waiting.done()
    clock.advance(0.1)
    with pytest.raises(AskTimeout, match=r"1/replier to Tick within 2.0s") as timed_out:
        await asyncio.wait_for(waiting, 5)
    assert timed_out.value.code == "ask_timeout"
    actor.parked[0].reply(Pong(1))  # a late reply is dropped quietly


async def test_remote_ask_reply_error_and_unhandled(make_bus: MakeBus) -> None:
    server, client = await make_bus(2), await make_bus(1, listen=None)
    await server.spawn(Replier(), "replier")
    client.add_peer(2, f"127.0.0.1:{server.port}")
    to = Address(2, "replier")
    assert await client.ask(to, Ping(5), timeout=5) == Pong(5)
    with pytest.raises(RemoteError, match="2/replier failed Boom: no") as refused:
        await client.ask(to, Boom("no"), timeout=5)
    assert refused.value.code == "refused"
    with pytest.raises(RemoteError) as unhandled:
        await client.ask(to, Hello(1, 1), timeout=5)
    assert unhandled.value.code == "unhandled"
    with pytest.raises(RemoteError) as missing:
        await client.ask(Address(2, "nobody"), Ping(1), timeout=5)
    assert missing.value.code == "no_such_actor"


async def test_ask_up_front_errors(make_bus: MakeBus) -> None:
    bus = await make_bus(1)
    to = await bus.spawn(Replier(), "replier")
    with pytest.raises(UnknownPeer, match=r"add_peer\(7"):
        await bus.ask(Address(7, "x"), Ping(1))
    with pytest.raises(NoSuchActor):
        await bus.ask(Address(1, "nobody"), Ping(1))
    with pytest.raises(ActorsError, match="expected Hello") as unexpected:
        await bus.ask(to, Ping(1), expect=Hello)
    assert unexpected.value.code == "unexpected_reply"
    bus.add_peer(2, "127.0.0.1:1")
    with pytest.raises(UnknownKind, match="register"):
        await bus.ask(Address(2, "x"), object())
