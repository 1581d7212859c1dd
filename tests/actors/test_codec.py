"""The codec: hypothesis round trips of every frame and envelope type, and each decode failure."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors import (
    ERROR_KIND,
    VERSION,
    ActorsError,
    Address,
    Codec,
    Envelope,
    ErrorReply,
    FrameError,
)
from actors.codec import join_frames, split_frames
from actors.errors import UnknownKind
from tests.actors.messages import Boom, Hello, Ping, Pong, Tick, make_kinds

CODEC = Codec(make_kinds(), max_body=4096)
text = st.text(max_size=40)
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
addresses = st.builds(Address, st.integers(min_value=0, max_value=2**63 - 1), text)
payloads = st.one_of(
    st.builds(Ping, ints, text),
    st.builds(Pong, ints, ints),
    st.builds(Boom, text),
    st.builds(Hello, ints, ints),
    st.builds(Tick, ints),
    st.builds(ErrorReply, text, text),
)
envelopes = st.builds(
    Envelope,
    target=text,
    sender=addresses,
    corr=st.integers(min_value=0, max_value=2**64 - 1),
    cluster=st.none() | st.integers(min_value=0, max_value=2**32),
    reply=st.booleans(),
    payload=payloads,
)


@given(envelopes)
def test_envelope_round_trip(envelope: Envelope[object]) -> None:
    kind, body = CODEC.encode(envelope)
    decoded, payload = CODEC.decode(kind, body)
    assert payload == envelope.payload and type(payload) is type(envelope.payload)
    assert (decoded.target, decoded.sender, decoded.corr, decoded.cluster, decoded.reply) == (
        envelope.target,
        envelope.sender,
        envelope.corr,
        envelope.cluster,
        envelope.reply,
    )


@given(st.lists(envelopes, min_size=1, max_size=5))
def test_batch_frame_round_trip(batch: list[Envelope[object]]) -> None:
    pairs = [CODEC.encode(envelope) for envelope in batch]
    frames = join_frames(pairs)
    assert frames[0] == VERSION and len(frames) == 1 + 2 * len(batch)
    assert split_frames(frames) == pairs


@given(addresses.filter(lambda a: "/" not in a.name and a.name != ""))
def test_address_text_round_trip(address: Address) -> None:
    assert Address.parse(str(address)) == address


@pytest.mark.parametrize("text", ["echo", "x/echo", "1/", "/echo"])
def test_bad_address(text: str) -> None:
    with pytest.raises(ActorsError, match="NODE_ID/ACTOR_NAME"):
        Address.parse(text)


@given(st.binary(max_size=200))
def test_arbitrary_bodies_fail_only_with_frame_errors(body: bytes) -> None:
    try:
        CODEC.decode(b"t.ping", body)
    except FrameError as error:
        assert error.reason == "decode"


@pytest.mark.parametrize(
    ("frames", "reason"),
    [
        ([VERSION], "malformed"),
        ([VERSION, b"t.ping"], "malformed"),
        ([VERSION, b"t.ping", b"", b"t.ping"], "malformed"),
        ([b"\x02", b"t.ping", b""], "unknown_version"),
    ],
)
def test_split_frames_rejects(frames: list[bytes], reason: str) -> None:
    with pytest.raises(FrameError) as error:
        split_frames(frames)
    assert error.value.reason == reason and error.value.code == f"bad_frame_{reason}"


def test_decode_failures_carry_reason_and_corr() -> None:
    _, body = CODEC.encode(Envelope("echo", Address(1, "a"), 42, None, False, Ping(1)))
    with pytest.raises(FrameError) as unknown:
        CODEC.decode(b"nope", body)
    assert (unknown.value.reason, unknown.value.corr) == ("unknown_kind", 42)
    with pytest.raises(FrameError) as wrong_shape:
        CODEC.decode(b"t.hello", body)  # envelope fine, payload is a Ping, not a Hello
    assert (wrong_shape.value.reason, wrong_shape.value.corr) == ("decode", 42)
    with pytest.raises(FrameError) as oversize:
        CODEC.decode(b"t.ping", b"\x00" * 4097)
    assert oversize.value.reason == "oversize"


def test_registry_rules() -> None:
    kinds = make_kinds()
    kinds.register("t.ping", Ping)  # the same pair again is fine
    assert ERROR_KIND in kinds and "t.ping" in kinds
    with pytest.raises(UnknownKind) as duplicate:
        kinds.register("t.ping", Pong)
    assert duplicate.value.code == "duplicate_kind"
    with pytest.raises(UnknownKind, match="not a registered kind"):
        kinds.kind_of(msgspec.Struct())
