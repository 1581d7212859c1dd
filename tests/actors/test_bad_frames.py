"""Bad frames sent at a live ROUTER from a raw zmq socket: each is counted by reason, answered
with an error frame (the ROUTER identity is the reply address) and dropped; good traffic goes on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import msgspec
import pytest
import zmq
import zmq.asyncio
from prometheus_client import CollectorRegistry

from actors import (
    ERROR_KIND,
    VERSION,
    Actor,
    Address,
    Bus,
    Context,
    Envelope,
    ErrorReply,
    TransportOptions,
    handler,
)
from actors.codec import RawEnvelope, split_frames
from tests.actors.conftest import MakeBus
from tests.actors.messages import Hello, Ping, Pong, metric, wait_until

MAX_BODY = 1024
ENCODE = msgspec.msgpack.encode


class Echo(Actor):
    @handler
    def on_ping(self, msg: Ping, ctx: Context) -> Pong:
        return Pong(msg.n)


def request(n: int, corr: int) -> bytes:
    return ENCODE(Envelope("echo", Address(9, "raw"), corr, None, False, Ping(n)))


@pytest.fixture
async def server(make_bus: MakeBus) -> Bus:
    options = TransportOptions(max_body=MAX_BODY, maxmsg_headroom=4096)
    bus = await make_bus(1, options=options)
    await bus.spawn(Echo(), "echo")
    return bus


@pytest.fixture
async def raw(server: Bus) -> AsyncIterator[RawClient]:
    context = zmq.asyncio.Context()
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RECONNECT_IVL, 50)
    sock.connect(f"tcp://127.0.0.1:{server.port}")
    yield RawClient(sock)
    sock.close(linger=0)
    context.term()


Reply = tuple[bytes, RawEnvelope, object]


class RawClient:
    """A raw DEALER; replies sent in one loop turn arrive batched in one multipart."""

    def __init__(self, sock: zmq.asyncio.Socket) -> None:
        self.sock = sock
        self._replies: list[Reply] = []

    async def send(self, frames: list[bytes]) -> None:
        await self.sock.send_multipart(frames)

    async def receive(self, timeout: float = 5.0) -> Reply:
        if not self._replies:
            frames = await asyncio.wait_for(self.sock.recv_multipart(), timeout)
            self._replies = [self._decode(kind, body) for kind, body in split_frames(frames)]
        return self._replies.pop(0)

    @staticmethod
    def _decode(kind: bytes, body: bytes) -> Reply:
        envelope = msgspec.msgpack.decode(body, type=RawEnvelope)
        payload_type = ErrorReply if kind == ERROR_KIND.encode() else Pong
        return kind, envelope, msgspec.msgpack.decode(envelope.payload, type=payload_type)


async def assert_serves(raw: RawClient, n: int) -> None:
    await raw.send([VERSION, b"t.ping", request(n, corr=1000 + n)])
    kind, envelope, payload = await raw.receive()
    assert (kind, envelope.corr, envelope.reply, payload) == (b"t.pong", 1000 + n, True, Pong(n))


BAD_FRAMES = [
    ("malformed", [VERSION, b"t.ping"], 0),
    ("malformed", [VERSION, b"t.ping", request(1, 7), b"t.ping"], 0),
    ("unknown_version", [b"\x09", b"t.ping", request(1, 7)], 0),
    ("unknown_kind", [VERSION, b"no.such.kind", request(1, 7)], 7),
    ("decode", [VERSION, b"t.ping", b"\xc1 not msgpack"], 0),
    ("decode", [VERSION, b"t.hello", request(1, 7)], 7),
    ("oversize", [VERSION, b"t.ping", b"\x00" * (MAX_BODY + 1)], 0),
]


@pytest.mark.parametrize(("reason", "frames", "corr"), BAD_FRAMES)
async def test_bad_frame_is_answered_counted_and_dropped(
    raw: RawClient,
    registry: CollectorRegistry,
    reason: str,
    frames: list[bytes],
    corr: int,
) -> None:
    await assert_serves(raw, 1)
    await raw.send(frames)
    kind, envelope, payload = await raw.receive()
    assert kind == ERROR_KIND.encode() and envelope.reply and envelope.corr == corr
    assert isinstance(payload, ErrorReply) and payload.code == f"bad_frame_{reason}"
    for other in ("malformed", "unknown_version", "unknown_kind", "decode", "oversize"):
        expected = 1.0 if other == reason else 0.0
        assert metric(registry, "actors_bad_frames_total", reason=other) == expected
    await assert_serves(raw, 2)


async def test_every_reason_in_one_stream_then_good_traffic(
    raw: RawClient, registry: CollectorRegistry
) -> None:
    for _, frames, _ in BAD_FRAMES:
        await raw.send(frames)
    codes = [(await raw.receive())[2] for _ in BAD_FRAMES]
    assert [getattr(code, "code", None) for code in codes] == [
        f"bad_frame_{reason}" for reason, _, _ in BAD_FRAMES
    ]
    assert metric(registry, "actors_bad_frames_total", reason="malformed") == 2
    assert metric(registry, "actors_bad_frames_total", reason="decode") == 2
    await assert_serves(raw, 3)


async def test_bad_message_inside_a_batch_spares_the_others(
    raw: RawClient, registry: CollectorRegistry
) -> None:
    await raw.send(
        [VERSION, b"t.ping", request(1, 11), b"nope", request(2, 12), b"t.ping", request(3, 13)]
    )
    replies = [await raw.receive() for _ in range(3)]
    assert [(envelope.corr, kind) for kind, envelope, _ in replies] == [
        (11, b"t.pong"),
        (12, ERROR_KIND.encode()),
        (13, b"t.pong"),
    ]
    assert metric(registry, "actors_bad_frames_total", reason="unknown_kind") == 1


async def test_frame_over_maxmsgsize_cuts_the_connection_not_the_bus(
    raw: RawClient, registry: CollectorRegistry
) -> None:
    await assert_serves(raw, 1)
    assert metric(registry, "actors_disconnects_total") == 0
    await raw.send([VERSION, b"t.ping", b"\x00" * (MAX_BODY + 8192)])
    # ZMQ_MAXMSGSIZE disconnects the raw socket; it reconnects by itself and is served again
    # (requests sent before it noticed the disconnection are lost, so ask until one is answered).
    for attempt in range(50):
        await raw.send([VERSION, b"t.ping", request(2, corr=attempt)])
        with contextlib.suppress(TimeoutError):
            kind, _, payload = await raw.receive(timeout=0.2)
            break
    else:
        pytest.fail("the bus did not serve the reconnected socket within 10 s")
    assert (kind, payload) == (b"t.pong", Pong(2))
    assert metric(registry, "actors_bad_frames_total", reason="oversize") == 0
    await wait_until(lambda: metric(registry, "actors_disconnects_total") == 1)


async def test_bad_frames_on_a_dealer_are_counted_not_answered(
    make_bus: MakeBus, registry: CollectorRegistry
) -> None:
    bus = await make_bus(1, listen=None)
    await bus.spawn(Echo(), "echo")
    context = zmq.asyncio.Context()
    peer = context.socket(zmq.ROUTER)
    try:
        port = peer.bind_to_random_port("tcp://127.0.0.1")
        bus.add_peer(9, f"127.0.0.1:{port}")
        bus.try_send(Address(9, "anyone"), Hello(1, 1))
        identity = (await asyncio.wait_for(peer.recv_multipart(), 5))[0]
        assert identity == b"n1"
        await peer.send_multipart([identity, b"\x09", b"t.ping", b""])
        await peer.send_multipart([identity, VERSION, b"t.ping", request(4, 21)])
        # The first thing back is the answer to the good request: the bad frame got no reply.
        frames = await asyncio.wait_for(peer.recv_multipart(), 5)
        assert frames[2] == b"t.pong"
        assert msgspec.msgpack.decode(frames[3], type=RawEnvelope).corr == 21
        assert metric(registry, "actors_bad_frames_total", reason="unknown_version") == 1
    finally:
        peer.close(linger=0)
        context.term()
