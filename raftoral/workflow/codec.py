"""How workflow values travel: MessagePack of msgspec builtins, decoded against a type; the one
place that turns msgspec's encode and validation errors into raftoral's."""

from __future__ import annotations

from typing import Any

import msgspec

from raftoral.errors import UnencodableValue

_encoder = msgspec.msgpack.Encoder()


def encode_value(value: object, what: str) -> bytes:
    """MessagePack of `value`; `what` names it in the error (a checkpoint key, "the result")."""
    try:
        return _encoder.encode(value)
    except (TypeError, msgspec.EncodeError) as exc:
        raise UnencodableValue(
            f"{what} cannot be encoded ({exc}); use msgspec Structs, dataclasses, dicts, lists"
            " and primitives"
        ) from exc


def decode_value(data: bytes, target: Any) -> Any:
    """Decode `data` as `target` (Any: msgspec builtins); raises msgspec.ValidationError."""
    return msgspec.msgpack.decode(data, type=target)


def error_path(exc: msgspec.ValidationError) -> str:
    """The path msgspec names in a validation error ("$.order.qty"), "$" when it names none."""
    _, sep, rest = str(exc).rpartition(" - at `")
    return rest.rstrip("`") if sep else "$"
