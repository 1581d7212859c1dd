"""The transport's fault-injection hook: outbound traffic to a peer dropped or delayed, healed."""

from __future__ import annotations

import asyncio

import pytest

from actors import Actor, Address, AskTimeout, Context, Fault, ManualClock, handler
from tests.actors.conftest import MakeBus
from tests.actors.messages import Ping, Pong


class Echo(Actor):
    @handler
    def on_ping(self, msg: Ping, ctx: Context) -> Pong:
        return Pong(msg.n)


async def test_drop_delay_and_heal(make_bus: MakeBus) -> None:
    server = await make_bus(2)
    await server.spawn(Echo(), "echo")
    client = await make_bus(1, listen=None)
    client.add_peer(2, f"127.0.0.1:{server.port}")
    to = Address(2, "echo")
    assert await client.ask(to, Ping(1), timeout=5) == Pong(1)
    client.set_faults({2: Fault()})
    with pytest.raises(AskTimeout):
        await client.ask(to, Ping(2), timeout=0.3)
    client.set_faults({2: Fault(drop=False, delay=0.05)})
    assert client.faults == {2: Fault(False, 0.05)}
    assert await client.ask(to, Ping(3), timeout=5) == Pong(3)
    client.set_faults({})
    assert await client.ask(to, Ping(4), timeout=5) == Pong(4)


async def test_delay_follows_the_bus_clock(make_bus: MakeBus) -> None:
    clock = ManualClock()
    server = await make_bus(2)
    await server.spawn(Echo(), "echo")
    client = await make_bus(1, listen=None, clock=clock)
    client.add_peer(2, f"127.0.0.1:{server.port}")
    client.set_faults({2: Fault(drop=False, delay=1.0)})
    waiting = asyncio.ensure_future(client.ask(Address(2, "echo"), Ping(5), timeout=10))
    await asyncio.sleep(0.1)  # noqa: sleep-ok checks an absence: nothing may arrive while the clock stands
    assert not waiting.done()  # held back until the clock moves
    clock.advance(1.0)
    assert await asyncio.wait_for(waiting, 5) == Pong(5)
