"""The runtime side of one spawned actor: its mailbox, its task, its timers and its supervision.

The cell serves messages one at a time; a handler that raises is logged, counted and restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
from time import perf_counter
from typing import TYPE_CHECKING, Any

import structlog

from actors.actor import Actor, HandlerSpec, bind_handlers
from actors.clock import sleep
from actors.context import Context
from actors.mailbox import Mailbox
from actors.metrics import ActorMetrics
from actors.supervision import RestartTracker
from actors.timers import Timers

if TYPE_CHECKING:
    from actors.bus import Bus

log = structlog.get_logger("actors")
_RESTART = object()  # queued by an inline handler that raised: the serving task restarts


class ActorCell:
    """Owns one actor's mailbox and serving task; `start` runs `on_start`, `stop` `on_stop`."""

    def __init__(self, actor: Actor, bus: Bus, metrics: ActorMetrics) -> None:
        self.actor = actor
        self.bus = bus
        self.name = actor.name
        self.mailbox: Mailbox[Context] = Mailbox(actor.mailbox_capacity)
        self.handlers = bind_handlers(actor)
        self.tracker = RestartTracker(actor.restart_policy)
        self.metrics = metrics
        self.stats = metrics.handlers.stats(self.name)
        self.restarts = metrics.restarts.labels(self.name)
        self.dropped = metrics.mailbox_dropped.labels(self.name)
        self.task: asyncio.Task[None] | None = None
        self.stopped = False
        self.idle = False
        actor.timers = Timers(bus.clock, self.deliver_self)

    async def start(self) -> None:
        """Run `on_start` (errors propagate to the spawner), then serve the mailbox."""
        await self.actor.on_start()
        self.metrics.mailbox_depth.labels(self.name).set_function(lambda: len(self.mailbox))
        self.task = asyncio.get_running_loop().create_task(self._serve(), name=f"actor:{self.name}")

    async def stop(self) -> None:
        """Cancel serving, then shut down (idempotent)."""
        task, self.task = self.task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._shutdown()

    def deliver_self(self, message: Any) -> bool:
        """Enqueue a message from the actor to itself (timers); dropped and counted when full."""
        ctx = Context(self.bus, self.actor.address, self.actor.address, message)
        if self.mailbox.put_nowait(ctx):
            return True
        self.dropped.inc()
        return False

    def deliver(self, ctx: Context) -> bool:
        """Hand over an inbound message; False when the mailbox is full. An idle actor with a
        synchronous handler serves it at once (one task switch less; order is kept)."""
        if self.idle and not self.mailbox:
            spec = self.handlers.get(type(ctx.payload))
            if spec is not None and not spec.is_async:
                self.idle = False  # busy: what arrives meanwhile queues behind this message
                if self._run_sync(spec, ctx):
                    self.idle = True
                else:
                    self.mailbox.put_nowait(Context(self.bus, ctx.target, ctx.sender, _RESTART))
                return True
        return self.mailbox.put_nowait(ctx)

    async def _serve(self) -> None:
        mailbox, flush = self.mailbox, self.bus.flush
        while not self.stopped:
            if not mailbox:
                flush()  # going idle: send what the handlers queued without waiting a turn
                self.idle = True
            ctx = await mailbox.get()
            self.idle = False
            if (ctx.payload is _RESTART or not await self._run(ctx)) and not await self._restart():
                break
        self.task = None
        await self._shutdown()

    def _run_sync(self, spec: HandlerSpec, ctx: Context) -> bool:
        """Serve one message with a synchronous handler; False if it raised."""
        started = perf_counter()
        try:
            result = spec.call(ctx.payload, ctx)
            if result is not None and ctx.wants_reply:
                ctx.reply(result)
            return True
        except Exception as exc:
            self._report(ctx, exc)
            return False
        finally:
            self.stats.observe(perf_counter() - started)

    async def _run(self, ctx: Context) -> bool:
        """Serve one message from the mailbox; False if its handler raised."""
        spec = self.handlers.get(type(ctx.payload))
        if spec is not None and not spec.is_async:
            return self._run_sync(spec, ctx)
        started = perf_counter()
        try:
            call = self.actor.on_unhandled if spec is None else spec.call
            result = await call(ctx.payload, ctx)
            if result is not None and ctx.wants_reply:
                ctx.reply(result)
            return True
        except Exception as exc:
            self._report(ctx, exc)
            return False
        finally:
            self.stats.observe(perf_counter() - started)

    def _report(self, ctx: Context, exc: Exception) -> None:
        kind = type(ctx.payload).__name__
        log.error("actor handler failed", actor=self.name, kind=kind, exc_info=exc)
        ctx.fail("actor_failed", f"actor {self.actor.address} failed on {kind}: {exc!r}")

    async def _restart(self) -> bool:
        """Restart through `on_start` per the restart policy; False when giving up."""
        self.actor.timers.cancel_all()
        while (delay := self.tracker.next_delay(self.bus.clock.now())) is not None:
            self.restarts.inc()
            await sleep(self.bus.clock, delay)
            try:
                await self.actor.on_start()
                return True
            except Exception as exc:
                log.error("actor on_start failed", actor=self.name, exc_info=exc)
        log.error("actor restart limit reached; stopping it", actor=self.name)
        return False

    async def _shutdown(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.actor.timers.cancel_all()
        self.bus.forget(self.name, self)
        try:
            await self.actor.on_stop()
        except Exception as exc:
            log.error("actor on_stop failed", actor=self.name, exc_info=exc)
        for ctx in self.mailbox.clear():
            ctx.fail("no_such_actor", f"actor {self.actor.address} stopped")
        with contextlib.suppress(KeyError):
            self.metrics.mailbox_depth.remove(self.name)
