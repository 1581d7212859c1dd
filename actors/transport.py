"""ZeroMQ plumbing of the bus: socket options, non-blocking readers on the loop, batched sends.

Sends never block the loop: messages collected during a loop turn leave in one multipart per link.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import structlog
import zmq
from prometheus_client import Counter
from zmq.backend import Socket as _CSocket
from zmq.backend import zmq_poll

from actors.codec import DEFAULT_MAX_BODY, VERSION

log = structlog.get_logger("actors")


@dataclass(frozen=True)
class TransportOptions:
    """Socket settings (DESIGN.md §4). Bodies over `max_body` are counted `oversize` and dropped;
    frames over `max_body + maxmsg_headroom` are cut off by ZMQ_MAXMSGSIZE (peer disconnected)."""

    max_body: int = DEFAULT_MAX_BODY
    maxmsg_headroom: int = 1024 * 1024
    hwm: int = 1000
    max_batch: int = 512
    reconnect_ivl_ms: int = 100
    reconnect_ivl_max_ms: int = 1000
    heartbeat_ivl_ms: int = 1000
    heartbeat_timeout_ms: int = 5000


def _common(sock: zmq.Socket[bytes], options: TransportOptions) -> None:
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, options.hwm)
    sock.setsockopt(zmq.RCVHWM, options.hwm)
    sock.setsockopt(zmq.MAXMSGSIZE, options.max_body + options.maxmsg_headroom)
    sock.setsockopt(zmq.HEARTBEAT_IVL, options.heartbeat_ivl_ms)
    sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, options.heartbeat_timeout_ms)


ZmqContext = zmq.Context[zmq.Socket[bytes]]


def make_router(ctx: ZmqContext, options: TransportOptions) -> zmq.Socket[bytes]:
    """The inbound socket: identities can be handed over to a restarted peer; sends to a gone
    identity fail (ROUTER_MANDATORY) so they are counted instead of vanishing."""
    sock = ctx.socket(zmq.ROUTER)
    _common(sock, options)
    sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    return sock


def make_dealer(ctx: ZmqContext, identity: bytes, options: TransportOptions) -> zmq.Socket[bytes]:
    """An outbound socket to one peer; it reconnects by itself when the peer restarts."""
    sock = ctx.socket(zmq.DEALER)
    _common(sock, options)
    sock.setsockopt(zmq.IDENTITY, identity)
    sock.setsockopt(zmq.RECONNECT_IVL, options.reconnect_ivl_ms)
    sock.setsockopt(zmq.RECONNECT_IVL_MAX, options.reconnect_ivl_max_ms)
    return sock


def node_identity(node_id: int) -> bytes:
    """The DEALER identity of a node: stable across restarts, so ROUTER_HANDOVER applies."""
    return b"n%d" % node_id


class Link:
    """One outbound path: a socket, its routing prefix (a ROUTER identity or nothing), the
    messages queued this turn, and the counter of messages dropped on it."""

    __slots__ = ("closed", "dropped", "pending", "prefix", "socket")

    def __init__(self, socket: zmq.Socket[bytes], prefix: list[bytes], dropped: Counter) -> None:
        self.socket = socket
        self.prefix = prefix
        self.dropped = dropped
        self.pending: list[tuple[bytes, bytes]] = []
        self.closed = False


class Outbox:
    """Collects `(kind, body)` per link during a loop turn and flushes them at its end, or when a
    held section (a reader draining its socket) ends."""

    def __init__(self, max_batch: int, after_flush: Callable[[set[zmq.Socket[bytes]]], None]):
        self._max_batch = max_batch
        self._after_flush = after_flush
        self._dirty: list[Link] = []
        self._scheduled = False
        self._held = 0

    def push(self, link: Link, kind: bytes, body: bytes) -> None:
        if not link.pending:
            self._dirty.append(link)
        link.pending.append((kind, body))
        if not self._scheduled and not self._held:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_scheduled)

    def hold(self) -> None:
        """Start a synchronous section whose sends leave together when it ends (`release`)."""
        self._held += 1

    def release(self) -> None:
        self._held -= 1
        if not self._held:
            self.flush()

    def _flush_scheduled(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> None:
        """Send every queued batch without blocking; drops at the high-water mark are counted."""
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, []
        sockets: set[zmq.Socket[bytes]] = set()
        for link in dirty:
            pending, link.pending = link.pending, []
            for start in range(0, len(pending), self._max_batch):
                _send(link, pending[start : start + self._max_batch])
            sockets.add(link.socket)
        self._after_flush(sockets)


# The Cython socket methods, called directly: pyzmq's pure-Python wrappers (routing ids, groups,
# enum flag arithmetic) cost about five times as much per frame on this path.
_send_frame = _CSocket.send
_recv_frame = _CSocket.recv
_poll = zmq_poll  # a zero-timeout poll reads ZMQ_EVENTS at half the cost of getsockopt
_MORE = int(zmq.SNDMORE | zmq.NOBLOCK)
_LAST = int(zmq.NOBLOCK)
_POLLIN = int(zmq.POLLIN)


def _send(link: Link, pairs: list[tuple[bytes, bytes]]) -> None:
    """One multipart: prefix, version, then kind and body of each message. Only the first frame
    can fail (zmq sends multiparts atomically), so a failure drops the whole batch."""
    if link.closed:
        return
    sock = link.socket
    try:
        for frame in link.prefix:
            _send_frame(sock, frame, _MORE)
        _send_frame(sock, VERSION, _MORE)
    except zmq.ZMQError:
        # EAGAIN at the high-water mark, EHOSTUNREACH for a gone ROUTER identity.
        link.dropped.inc(len(pairs))
        return
    last = len(pairs) - 1
    for index, (kind, body) in enumerate(pairs):
        _send_frame(sock, kind, _MORE)
        _send_frame(sock, body, _MORE if index < last else _LAST)


def _recv_multipart(sock: zmq.Socket[bytes]) -> list[bytes]:
    frame = _recv_frame(sock, _LAST, copy=False)
    frames = [frame.bytes]
    while frame.more:
        frame = _recv_frame(sock, _LAST, copy=False)
        frames.append(frame.bytes)
    return frames


class Reader:
    """Drains a socket whenever its (edge-triggered) ZMQ_FD fires, in bounded slices; what the
    frames' handlers send leaves in one flush when the slice ends."""

    def __init__(
        self,
        sock: zmq.Socket[bytes],
        on_frames: Callable[[list[bytes]], None],
        outbox: Outbox,
        slice_: int = 256,
    ) -> None:
        self.sock = sock
        self._on_frames = on_frames
        self._outbox = outbox
        self._slice = slice_
        self._poll_items = [(sock, _POLLIN)]
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self.drain)
        self.poke()  # processes pending commands, so the FD signals the next message

    def readable(self) -> bool:
        """Whether a message waits (this also re-arms the edge-triggered ZMQ_FD)."""
        return bool(_poll(self._poll_items, 0))

    def drain(self) -> None:
        """Receive what is waiting (the FD fired, so usually a message: try before asking)."""
        sock, on_frames = self.sock, self._on_frames
        self._outbox.hold()
        try:
            for _ in range(self._slice):
                frames = _recv_multipart(sock)
                try:
                    on_frames(frames)
                except Exception as exc:  # a bug must not stall the socket: log, go on
                    log.error("inbound frame handling failed", exc_info=exc)
                if not self.readable():
                    return
            self._loop.call_soon(self.drain)
        except zmq.ZMQError:
            return  # EAGAIN: a spurious wake-up; or the socket was closed under us
        finally:
            self._outbox.release()

    def poke(self) -> None:
        """After a send the FD edge may be consumed: drain if messages are waiting."""
        if self.readable():
            self._loop.call_soon(self.drain)

    def close(self) -> None:
        self._loop.remove_reader(self.sock.fileno())
        self.sock.close(linger=0)


class DisconnectCounter:
    """Counts the connections a socket loses (a peer gone, or one ZMQ_MAXMSGSIZE cut off),
    reading the socket's monitor events on the loop."""

    def __init__(self, sock: zmq.Socket[bytes], counter: Counter) -> None:
        self._sock = sock
        self._counter = counter
        self._events = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._events.fileno(), self._drain)
        self._drain()  # processes pending commands, so the FD signals the next event

    def _drain(self) -> None:
        while True:
            try:
                self._events.recv_multipart(zmq.NOBLOCK)
            except zmq.ZMQError:
                return  # EAGAIN: all read (this also re-arms the FD); or closed
            self._counter.inc()

    def close(self) -> None:
        self._loop.remove_reader(self._events.fileno())
        self._sock.disable_monitor()
        self._events.close(linger=0)
