"""Mailbox back-pressure: bounded storage, waiting local senders, refusing `try_send`."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from actors import (
    Actor,
    Address,
    AskTimeout,
    Context,
    Mailbox,
    ManualClock,
    RemoteError,
    handler,
)
from tests.actors.conftest import MakeBus
from tests.actors.messages import Ping, Pong, metric, wait_until


async def yield_to_loop(turns: int = 5) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)  # noqa: sleep-ok lets a blocked task run, if it could


async def test_put_nowait_refuses_when_full() -> None:
    mailbox: Mailbox[int] = Mailbox(2)
    assert mailbox.put_nowait(1) and mailbox.put_nowait(2)
    assert not mailbox.put_nowait(3)
    assert len(mailbox) == mailbox.capacity == 2
    assert [await mailbox.get(), await mailbox.get()] == [1, 2]


async def test_put_waits_for_room_then_completes() -> None:
    mailbox: Mailbox[int] = Mailbox(1)
    mailbox.put_nowait(1)
    putter = asyncio.create_task(mailbox.put(2))
    await yield_to_loop()
    assert not putter.done(), "put must wait while the mailbox is full"
    assert len(mailbox) == 1
    assert await mailbox.get() == 1
    await asyncio.wait_for(putter, 1)
    assert await mailbox.get() == 2


async def test_clear_returns_items_and_releases_waiting_senders() -> None:
    mailbox: Mailbox[int] = Mailbox(1)
    mailbox.put_nowait(7)
    putter = asyncio.create_task(mailbox.put(8))
    await yield_to_loop()
    assert mailbox.clear() == [7]
    await asyncio.wait_for(putter, 1)
    assert len(mailbox) == 1


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Mailbox(0)


class Gate(Actor):
    """Blocks in its handler until released, so its mailbox fills up."""

    mailbox_capacity = 2

    async def on_start(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.seen: list[int] = []

    @handler
    async def on_ping(self, msg: Ping, ctx: Context) -> Pong:
        self.entered.set()
        await self.release.wait()
        self.seen.append(msg.n)
        return Pong(msg.n)


async def test_local_send_back_pressure(make_bus: MakeBus) -> None:
    bus = await make_bus(1)
    gate = Gate()
    to = await bus.spawn(gate, "gate")
    await bus.send(to, Ping(0))
    await asyncio.wait_for(gate.entered.wait(), 5)
    assert bus.try_send(to, Ping(1)) and bus.try_send(to, Ping(2))
    assert not bus.try_send(to, Ping(3)), "try_send must refuse when the mailbox is full"
    blocked = asyncio.create_task(bus.send(to, Ping(4)))
    await yield_to_loop()
    assert not blocked.done(), "send must wait for room"
    gate.release.set()
    await asyncio.wait_for(blocked, 5)
    assert await bus.ask(to, Ping(5), expect=Pong) == Pong(5)
    assert gate.seen == [0, 1, 2, 4, 5]


async def test_remote_frames_at_a_full_mailbox_are_dropped_and_counted(
    make_bus: MakeBus, registry: CollectorRegistry
) -> None:
    server, client = await make_bus(2), await make_bus(1, listen=None)
    gate = Gate()
    await server.spawn(gate, "gate")
    client.add_peer(2, f"127.0.0.1:{server.port}")
    to = Address(2, "gate")
    first = asyncio.create_task(client.ask(to, Ping(0)))
    await asyncio.wait_for(gate.entered.wait(), 5)
    # Tasks run in creation order, so the frames leave (and arrive) in this order.
    later = [asyncio.create_task(client.ask(to, Ping(n))) for n in (1, 2, 3)]
    done, _ = await asyncio.wait([later[2]], timeout=5)
    assert done, "the ask beyond the mailbox capacity must be refused at once"
    error = later[2].exception()
    assert isinstance(error, RemoteError) and error.code == "mailbox_full"
    assert metric(registry, "actors_mailbox_dropped_total", actor="gate") == 1
    gate.release.set()
    replies = await asyncio.wait_for(asyncio.gather(first, later[0], later[1]), 5)
    assert [reply.n for reply in replies] == [0, 1, 2]
    assert gate.seen == [0, 1, 2]


async def test_local_ask_waiting_for_room_still_times_out(make_bus: MakeBus) -> None:
    clock = ManualClock()
    bus = await make_bus(1, clock=clock)
    gate = Gate()
    to = await bus.spawn(gate, "gate")
    await bus.send(to, Ping(0))
    await asyncio.wait_for(gate.entered.wait(), 5)
    assert bus.try_send(to, Ping(1)) and bus.try_send(to, Ping(2))
    waiting = asyncio.create_task(bus.ask(to, Ping(3), timeout=1.0))
    await wait_until(lambda: clock.pending == 1)
    clock.advance(1.0)
    with pytest.raises(AskTimeout, match="1/gate"):
        await asyncio.wait_for(waiting, 5)
    gate.release.set()
    assert await bus.ask(to, Ping(4), timeout=5.0) == Pong(4)
    assert gate.seen == [0, 1, 2, 4], "the timed-out ask never reached the actor"


async def test_a_cancelled_sender_hands_the_room_on() -> None:
    mailbox: Mailbox[int] = Mailbox(1)
    mailbox.put_nowait(1)
    first = asyncio.create_task(mailbox.put(2))
    second = asyncio.create_task(mailbox.put(3))
    await yield_to_loop()
    assert await mailbox.get() == 1  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs
    await asyncio.wait_for(second, 1)
    assert await mailbox.get() == 3
