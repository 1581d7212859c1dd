"""The per-process bus: local actors, one ROUTER for inbound frames, one DEALER per remote peer.

It routes sends (local ones bypass sockets), matches replies to asks, and drops bad frames.
"""

from __future__ import annotations

import asyncio
import itertools
from asyncio import FIRST_COMPLETED
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, overload

import structlog
import zmq
from prometheus_client import CollectorRegistry

from actors.actor import Actor
from actors.address import Address
from actors.cell import ActorCell
from actors.clock import AsyncioClock, Clock
from actors.codec import KINDS, Codec, KindRegistry, split_frames
from actors.context import Context
from actors.deadlines import Deadlines
from actors.envelope import ERROR_KIND, Envelope, ErrorReply
from actors.errors import (
    ActorsError,
    AskTimeout,
    BusClosed,
    FrameError,
    NoSuchActor,
    RemoteError,
    UnknownPeer,
)
from actors.faults import Fault
from actors.metrics import metrics_for
from actors.transport import (
    DisconnectCounter,
    Link,
    Outbox,
    Reader,
    TransportOptions,
    make_dealer,
    make_router,
    node_identity,
)

T = TypeVar("T")
log = structlog.get_logger("actors")
_ERROR_KIND = ERROR_KIND.encode()
_MAX_ROUTES = 4096


class _Pending:
    __slots__ = ("future", "kind", "target", "timeout")

    def __init__(
        self, future: asyncio.Future[Any], target: Address, kind: str, timeout: float
    ) -> None:
        self.future = future
        self.target = target
        self.kind = kind
        self.timeout = timeout


class _Peer:
    __slots__ = ("endpoint", "link", "reader")

    def __init__(self, endpoint: str, link: Link, reader: Reader) -> None:
        self.endpoint = endpoint
        self.link = link
        self.reader = reader


class Bus:
    """One per process. `listen="host:port"` binds the ROUTER (port 0 picks a free one, see
    `port`); without it the bus is a pure client that only talks to its peers."""

    def __init__(
        self,
        node_id: int,
        *,
        listen: str | None = None,
        kinds: KindRegistry | None = None,
        clock: Clock | None = None,
        registry: CollectorRegistry | None = None,
        options: TransportOptions | None = None,
    ) -> None:
        self.node_id = node_id
        self.listen = listen
        self.clock: Clock = clock or AsyncioClock()
        self.options = options or TransportOptions()
        self.codec = Codec(kinds or KINDS, self.options.max_body)
        self.metrics = metrics_for(registry)
        self.port: int | None = None
        self._cells: dict[str, ActorCell] = {}
        self._peers: dict[int, _Peer] = {}
        self._routes: dict[bytes, Link] = {}
        self._readers: dict[zmq.Socket[bytes], Reader] = {}
        self._pending: dict[int, _Pending] = {}
        self._deadlines = Deadlines(self.clock, self._expire)
        self._corr = itertools.count(1)
        self._anonymous = Address(node_id, "")
        self._zmq: zmq.Context[zmq.Socket[bytes]] | None = None
        self._router: Reader | None = None
        self._disconnects: DisconnectCounter | None = None
        self._outbox = Outbox(self.options.max_batch, self._after_flush)
        self._inbound_dropped = self.metrics.dropped_sends.labels("inbound")
        self._faults: dict[int, Fault] = {}

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> Bus:
        """Create the sockets and bind the ROUTER (if listening); returns the bus."""
        self._zmq = zmq.Context(io_threads=1)
        if self.listen is not None:
            sock = make_router(self._zmq, self.options)
            sock.bind(f"tcp://{self.listen}")
            endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
            self.port = int(endpoint.rsplit(":", 1)[1])
            self._router = self._readers[sock] = Reader(sock, self._on_router, self._outbox)
            self._disconnects = DisconnectCounter(sock, self.metrics.disconnects)
        return self

    async def close(self) -> None:
        """Stop every actor, fail pending asks, close the sockets."""
        for cell in list(self._cells.values()):
            await cell.stop()
        for corr in list(self._pending):
            self._complete(corr, BusClosed(f"bus of node {self.node_id} closed"))
        self._deadlines.cancel()
        self._outbox.flush()
        for node_id in list(self._peers):
            self.remove_peer(node_id)
        if self._disconnects is not None:
            self._disconnects.close()
            self._disconnects = None
        if self._router is not None:
            del self._readers[self._router.sock]
            self._router.close()
            self._router = None
        if self._zmq is not None:
            self._zmq.destroy(linger=0)  # closes any socket left over, never hangs
            self._zmq = None

    async def __aenter__(self) -> Bus:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- peers -----------------------------------------------------------------------------

    def add_peer(self, node_id: int, endpoint: str) -> None:
        """Connect a DEALER to `host:port` of node `node_id` (replacing an earlier endpoint)."""
        if self._zmq is None:
            raise BusClosed("start the bus (await bus.start()) before adding peers")
        self.remove_peer(node_id)
        sock = make_dealer(self._zmq, node_identity(self.node_id), self.options)
        sock.connect(f"tcp://{endpoint}")
        link = Link(sock, [], self.metrics.dropped_sends.labels(str(node_id)))
        reader = Reader(
            sock, lambda frames: self._receive(frames, link, answer_bad=False), self._outbox
        )
        self._peers[node_id] = _Peer(endpoint, link, reader)
        self._readers[sock] = reader

    def remove_peer(self, node_id: int) -> None:
        peer = self._peers.pop(node_id, None)
        if peer is not None:
            peer.link.closed = True
            del self._readers[peer.reader.sock]
            peer.reader.close()

    @property
    def peers(self) -> dict[int, str]:
        return {node_id: peer.endpoint for node_id, peer in self._peers.items()}

    def set_faults(self, faults: Mapping[int, Fault]) -> None:
        """Fault injection for tests: requests and one-way sends to the peers in `faults` are
        dropped or delayed (replies are not affected). Replaces earlier faults; {} heals."""
        self._faults = dict(faults)

    @property
    def faults(self) -> dict[int, Fault]:
        return dict(self._faults)

    # -- actors ----------------------------------------------------------------------------

    async def spawn(self, actor: Actor, name: str) -> Address:
        """Register `actor` under `name`, run its `on_start`, and start serving its mailbox."""
        if self._zmq is None:
            raise BusClosed("start the bus (await bus.start()) before spawning actors")
        if name in self._cells:
            raise ActorsError(f"an actor named {name!r} already runs here", code="duplicate_actor")
        actor.name, actor.address, actor.bus = name, Address(self.node_id, name), self
        cell = self._cells[name] = ActorCell(actor, self, self.metrics)
        try:
            await cell.start()
        except BaseException:
            del self._cells[name]
            raise
        return actor.address

    async def stop_actor(self, name: str) -> None:
        cell = self._cells.get(name)
        if cell is not None:
            await cell.stop()

    def forget(self, name: str, cell: ActorCell) -> None:
        """Called by a stopping cell: unregister it."""
        if self._cells.get(name) is cell:
            del self._cells[name]

    @property
    def actors(self) -> Iterable[str]:
        return self._cells.keys()

    # -- sending ---------------------------------------------------------------------------

    async def send(
        self,
        to: Address,
        message: Any,
        *,
        cluster: int | None = None,
        sender: Address | None = None,
    ) -> None:
        """One-way send. Local: waits for mailbox room. Remote: queued for this turn's batch."""
        if to.node == self.node_id:
            ctx = Context(self, to, sender or self._anonymous, message, 0, cluster)
            await self._cell(to).mailbox.put(ctx)
        else:
            self._push_request(to, message, 0, cluster, sender or self._anonymous)

    def try_send(
        self,
        to: Address,
        message: Any,
        *,
        cluster: int | None = None,
        sender: Address | None = None,
    ) -> bool:
        """One-way send without waiting: False if the local mailbox is full (nothing queued)."""
        if to.node != self.node_id:
            self._push_request(to, message, 0, cluster, sender or self._anonymous)
            return True
        ctx = Context(self, to, sender or self._anonymous, message, 0, cluster)
        return self._cell(to).mailbox.put_nowait(ctx)

    @overload
    async def ask(
        self,
        to: Address,
        message: Any,
        *,
        timeout: float = ...,
        cluster: int | None = ...,
        sender: Address | None = ...,
        expect: type[T],
    ) -> T: ...

    @overload
    async def ask(
        self,
        to: Address,
        message: Any,
        *,
        timeout: float = ...,
        cluster: int | None = ...,
        sender: Address | None = ...,
        expect: None = ...,
    ) -> Any: ...

    async def ask(
        self,
        to: Address,
        message: Any,
        *,
        timeout: float = 5.0,
        cluster: int | None = None,
        sender: Address | None = None,
        expect: type[Any] | None = None,
    ) -> Any:
        """Send `message` and return the reply payload. Raises `AskTimeout` after `timeout`
        seconds, `RemoteError` for an error reply, `UnknownPeer`/`NoSuchActor` up front."""
        corr = next(self._corr)
        pending = self._pending[corr] = _Pending(
            asyncio.get_running_loop().create_future(), to, type(message).__name__, timeout
        )
        self._add_deadline(corr, timeout)
        sender = sender or self._anonymous
        try:
            if to.node == self.node_id:
                await self._put_request(to, Context(self, to, sender, message, corr, cluster))
            else:
                self._push_request(to, message, corr, cluster, sender)
            reply = await pending.future
        finally:
            self._pending.pop(corr, None)
        if expect is not None and not isinstance(reply, expect):
            raise ActorsError(
                f"{to} answered {pending.kind} with {type(reply).__name__}, "
                f"expected {expect.__name__}",
                code="unexpected_reply",
            )
        return reply

    async def _put_request(self, to: Address, ctx: Context) -> None:
        """Queue a local ask, waiting for mailbox room at most until the ask's deadline."""
        mailbox = self._cell(to).mailbox
        if mailbox.put_nowait(ctx):
            return
        put = asyncio.ensure_future(mailbox.put(ctx))
        await asyncio.wait([put, self._pending[ctx.corr].future], return_when=FIRST_COMPLETED)
        put.cancel()  # no-op once queued; else the ask is over (timed out or bus closed)

    def send_reply(self, ctx: Context, payload: Any, error: bool) -> None:
        """Answer an ask: resolve the local future, or send a reply frame back on its route."""
        if not isinstance(ctx.route, Link):
            self._resolve(ctx.corr, payload, error)
            return
        envelope = Envelope(ctx.sender.name, ctx.target, ctx.corr, ctx.cluster, True, payload)
        self._push(ctx.route, envelope)

    def flush(self) -> None:
        """Send what this turn queued now instead of at the end of the turn."""
        self._outbox.flush()

    def _push_request(
        self, to: Address, message: Any, corr: int, cluster: int | None, sender: Address
    ) -> None:
        link = self._peer(to.node)
        envelope = Envelope(to.name, sender, corr, cluster, False, message)
        fault = self._faults.get(to.node) if self._faults else None
        if fault is None:
            self._push(link, envelope)
        elif not fault.drop:
            self.clock.call_later(fault.delay, lambda: self._push(link, envelope))

    def _push(self, link: Link, envelope: Envelope[Any]) -> None:
        kind, body = self.codec.encode(envelope)
        self._outbox.push(link, kind, body)

    def _cell(self, to: Address) -> ActorCell:
        cell = self._cells.get(to.name)
        if cell is None:
            raise NoSuchActor(f"no actor {to.name!r} on node {self.node_id}; spawn it first")
        return cell

    def _peer(self, node_id: int) -> Link:
        peer = self._peers.get(node_id)
        if peer is None:
            raise UnknownPeer(
                f"node {node_id} is not a peer of node {self.node_id}; "
                f"call bus.add_peer({node_id}, 'host:port')"
            )
        return peer.link

    # -- replies and deadlines -------------------------------------------------------------

    def _resolve(self, corr: int, payload: Any, error: bool) -> None:
        pending = self._pending.get(corr)
        if pending is None:
            return  # late reply to an ask that already timed out
        if error:
            code = payload.code if isinstance(payload, ErrorReply) else "remote_error"
            text = payload.message if isinstance(payload, ErrorReply) else repr(payload)
            self._complete(
                corr, RemoteError(f"{pending.target} failed {pending.kind}: {text}", code=code)
            )
        else:
            self._complete(corr, payload)

    def _add_deadline(self, corr: int, timeout: float) -> None:
        deadlines = self._deadlines
        deadlines.add(corr, timeout)
        if len(deadlines) > 2 * len(self._pending) + 1024:
            deadlines.compact(self._pending.__contains__)

    def _expire(self, corr: int) -> None:
        pending = self._pending.get(corr)
        if pending is not None:
            target, timeout = pending.target, pending.timeout
            self._complete(
                corr,
                AskTimeout(
                    f"no reply from {target} to {pending.kind} within {timeout}s; "
                    f"is node {target.node} up and actor {target.name!r} running?"
                ),
            )

    def _complete(self, corr: int, outcome: Any) -> None:
        future = self._pending.pop(corr).future
        if future.done():
            return
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    # -- inbound ---------------------------------------------------------------------------

    def _on_router(self, frames: list[bytes]) -> None:
        identity = frames[0]
        route = self._routes.get(identity)
        if route is None:
            if len(self._routes) >= _MAX_ROUTES:
                self._routes.clear()
            assert self._router is not None
            route = Link(self._router.sock, [identity], self._inbound_dropped)
            self._routes[identity] = route
        self._receive(frames[1:], route, answer_bad=True)

    def _receive(self, frames: list[bytes], route: Link, answer_bad: bool) -> None:
        try:
            pairs = split_frames(frames)
        except FrameError as exc:
            self._bad_frame(exc, route if answer_bad else None)
            return
        decode = self.codec.decode
        for kind, body in pairs:
            try:
                envelope, payload = decode(kind, body)
            except FrameError as exc:
                self._bad_frame(exc, route if answer_bad else None)
                continue
            if envelope.reply:
                self._resolve(envelope.corr, payload, kind == _ERROR_KIND)
            else:
                self._deliver(envelope, payload, route)

    def _deliver(self, envelope: Envelope[Any], payload: Any, route: Link) -> None:
        cell = self._cells.get(envelope.target)
        target = Address(self.node_id, envelope.target) if cell is None else cell.actor.address
        ctx = Context(
            self, target, envelope.sender, payload, envelope.corr, envelope.cluster, route
        )
        if cell is None:
            ctx.fail("no_such_actor", f"no actor {envelope.target!r} on node {self.node_id}")
        elif not cell.deliver(ctx):
            cell.dropped.inc()
            ctx.fail("mailbox_full", f"mailbox of {envelope.target!r} is full; retry later")

    def _bad_frame(self, exc: FrameError, route: Link | None) -> None:
        self.metrics.bad_frames.labels(exc.reason).inc()
        log.debug("bad frame dropped", reason=exc.reason, detail=exc.message)
        if route is not None:
            error = ErrorReply(exc.code, exc.message)
            self._push(route, Envelope("", self._anonymous, exc.corr, None, True, error))

    def _after_flush(self, sockets: set[zmq.Socket[bytes]]) -> None:
        for sock in sockets:
            reader = self._readers.get(sock)
            if reader is not None:
                reader.poke()
