"""Kinds and the frame codec: the registry of payload kinds and encoding/decoding of frames.

A frame is `[version, kind, body, kind, body, ...]` (one or more messages); see docs/actors.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from actors.envelope import ERROR_KIND, Envelope, ErrorReply
from actors.errors import FrameError, UnknownKind

VERSION = b"\x01"
DEFAULT_MAX_BODY = 16 * 1024 * 1024

RawEnvelope = Envelope[msgspec.Raw]


class KindRegistry:
    """Maps kind names to frozen msgspec Struct types, both ways, with one decoder per kind."""

    def __init__(self) -> None:
        self._types: dict[bytes, type[Any]] = {}
        self._names: dict[type[Any], bytes] = {}
        self._decoders: dict[bytes, msgspec.msgpack.Decoder[Any]] = {}
        self.register(ERROR_KIND, ErrorReply)

    def register(self, name: str, struct_type: type[Any]) -> None:
        """Register `struct_type` under `name` (idempotent for the same pair)."""
        key = name.encode()
        if self._types.get(key, struct_type) is not struct_type or (
            self._names.get(struct_type, key) != key
        ):
            raise UnknownKind(
                f"kind {name!r} or type {struct_type.__name__} is already registered differently",
                code="duplicate_kind",
            )
        self._types[key] = struct_type
        self._names[struct_type] = key
        self._decoders[key] = msgspec.msgpack.Decoder(struct_type)

    def kind_of(self, payload: object) -> bytes:
        """The kind name (as frame bytes) of a payload; raises `UnknownKind` if unregistered."""
        try:
            return self._names[type(payload)]
        except KeyError:
            raise UnknownKind(
                f"payload type {type(payload).__name__} is not a registered kind; "
                "call registry.register(name, type) first"
            ) from None

    def decoder(self, kind: bytes) -> msgspec.msgpack.Decoder[Any] | None:
        return self._decoders.get(kind)

    def __contains__(self, name: str) -> bool:
        return name.encode() in self._types


KINDS = KindRegistry()
"""The process-wide default registry; packages register their kinds here at import."""


class Codec:
    """Encodes envelopes to `(kind, body)` pairs and decodes them back, checking every limit."""

    def __init__(self, kinds: KindRegistry, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.kinds = kinds
        self.max_body = max_body
        self._encoder = msgspec.msgpack.Encoder()
        self._envelope = msgspec.msgpack.Decoder(RawEnvelope)

    def encode(self, envelope: Envelope[Any]) -> tuple[bytes, bytes]:
        return self.kinds.kind_of(envelope.payload), self._encoder.encode(envelope)

    def decode(self, kind: bytes, body: bytes) -> tuple[RawEnvelope, Any]:
        """Decode one message; raises `FrameError` with the bad-frame reason."""
        decoder = self.kinds.decoder(kind)
        if len(body) > self.max_body:
            raise FrameError("oversize", f"body of {len(body)} bytes is over {self.max_body}")
        try:
            envelope = self._envelope.decode(body)
        except (msgspec.DecodeError, ValueError) as exc:
            raise FrameError("decode", f"envelope does not decode: {exc}") from None
        if decoder is None:
            raise FrameError("unknown_kind", f"unknown kind {kind!r}", corr=envelope.corr)
        try:
            return envelope, decoder.decode(envelope.payload)
        except (msgspec.DecodeError, ValueError) as exc:
            raise FrameError(
                "decode", f"payload of kind {kind!r} does not decode: {exc}", corr=envelope.corr
            ) from None


def split_frames(frames: Sequence[bytes]) -> list[tuple[bytes, bytes]]:
    """Check version and shape of `[version, kind, body, ...]`; return its `(kind, body)` pairs."""
    if len(frames) == 3 and frames[0] == VERSION:
        return [(frames[1], frames[2])]
    if len(frames) < 3 or len(frames) % 2 == 0:
        raise FrameError("malformed", f"expected [version, kind, body, ...], got {len(frames)}")
    if frames[0] != VERSION:
        raise FrameError("unknown_version", f"unknown frame version {bytes(frames[0])!r}")
    return list(zip(frames[1::2], frames[2::2], strict=True))


def join_frames(pairs: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
    """The inverse of `split_frames`: one version frame, then each message's kind and body."""
    frames = [VERSION]
    for kind, body in pairs:
        frames.append(kind)
        frames.append(body)
    return frames
