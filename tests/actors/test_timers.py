"""Timers come from the runtime clock: on a ManualClock they fire only when time is advanced."""

from __future__ import annotations

import asyncio

from actors import Actor, Context, ManualClock, handler
from actors.deadlines import Deadlines
from tests.actors.conftest import MakeBus
from tests.actors.messages import Boom, Tick


class Ticker(Actor):
    def __init__(self) -> None:
        self.ticks: list[int] = []
        self.tick_seen = asyncio.Event()

    @handler
    def on_tick(self, msg: Tick, ctx: Context) -> None:
        self.ticks.append(msg.n)
        self.tick_seen.set()

    @handler
    def on_boom(self, msg: Boom, ctx: Context) -> None:
        raise RuntimeError("restart me")

    async def next_tick(self) -> None:
        await asyncio.wait_for(self.tick_seen.wait(), 5)
        self.tick_seen.clear()


async def test_one_shot_timer_fires_when_the_clock_reaches_it(make_bus: MakeBus) -> None:
    clock = ManualClock()
    actor = Ticker()
    await (await make_bus(1, clock=clock)).spawn(actor, "ticker")
    actor.start_timer("t", 1.0, Tick(1))
    assert clock.advance(0.99) == 0
    assert clock.advance(0.01) == 1
    await actor.next_tick()
    assert actor.ticks == [1] and "t" not in actor.timers
    assert clock.advance(10.0) == 0


async def test_repeating_timer_and_cancel(make_bus: MakeBus) -> None:
    clock = ManualClock()
    actor = Ticker()
    await (await make_bus(1, clock=clock)).spawn(actor, "ticker")
    actor.start_timer("beat", 0.5, Tick(7), repeat=True)
    for _ in range(3):
        assert clock.advance(0.5) == 1
        await actor.next_tick()
    actor.cancel_timer("beat")
    assert clock.advance(5.0) == 0
    assert actor.ticks == [7, 7, 7]


async def test_restarting_cancels_timers(make_bus: MakeBus) -> None:
    clock = ManualClock()
    bus = await make_bus(1, clock=clock)
    actor = Ticker()
    to = await bus.spawn(actor, "ticker")
    actor.start_timer("t", 1.0, Tick(1))
    await bus.send(to, Boom())
    await bus.send(to, Tick(2))  # served after the restart
    await actor.next_tick()
    assert clock.pending == 0 and clock.advance(5.0) == 0
    assert actor.ticks == [2]


def test_manual_clock_runs_due_callbacks_in_deadline_order() -> None:
    clock = ManualClock()
    fired: list[str] = []
    clock.call_later(2.0, lambda: fired.append("b"))
    clock.call_later(1.0, lambda: fired.append("a"))
    clock.call_later(2.0, lambda: fired.append("c"))
    clock.call_later(3.0, lambda: fired.append("late")).cancel()
    assert clock.advance(2.5) == 3
    assert fired == ["a", "b", "c"] and clock.now() == 2.5


def test_deadlines_share_one_timer_and_skip_answered_keys() -> None:
    clock = ManualClock()
    expired: list[int] = []
    live = {1, 2, 3}

    def expire(key: int) -> None:
        if key in live:
            expired.append(key)

    deadlines = Deadlines(clock, expire)
    deadlines.add(1, 2.0)
    deadlines.add(2, 1.0)
    deadlines.add(3, 3.0)
    assert clock.pending == 1, "one clock timer, armed for the earliest deadline"
    live.discard(2)  # answered before its deadline
    clock.advance(2.0)
    assert expired == [1]
    deadlines.compact(live.__contains__)
    assert len(deadlines) == 1
    clock.advance(1.0)
    assert expired == [1, 3] and clock.pending == 0
