"""The envelope every message travels in, and the error payload of error replies.

The envelope is generic in its payload: senders encode the typed Struct inline in one pass,
receivers decode `Envelope[msgspec.Raw]` first and the payload only once its kind is known.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

from actors.address import Address

P = TypeVar("P")

ERROR_KIND = "actors.error"


class Envelope(msgspec.Struct, Generic[P], frozen=True, array_like=True, gc=False):
    """Target actor name, sender address, correlation id (0: no reply wanted), optional cluster
    id, whether this is a reply, and the payload (a Struct of a registered kind)."""

    target: str
    sender: Address
    corr: int
    cluster: int | None
    reply: bool
    payload: P


class ErrorReply(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """The payload of an error reply (kind `actors.error`): a stable code and a readable message."""

    code: str
    message: str
