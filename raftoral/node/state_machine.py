"""The state machine interface a Raft group applies committed entries to, and the composite one
that routes each command to a service ("kv", "cluster", later "workflow") by its tag."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import msgspec

from raftoral.errors import RaftoralError


class StateMachine(Protocol):
    """What a user plugs in (after hashicorp/raft's FSM): deterministic apply, snapshot, restore."""

    def apply(self, index: int, data: bytes) -> Any:
        """Apply the committed command `data` at log index `index`; the result answers its
        proposer (any value its service's reply builder understands)."""
        ...

    def snapshot(self) -> bytes:
        """The whole state, as bytes that `restore` reads back."""
        ...

    def restore(self, data: bytes) -> None:
        """Replace the whole state by a snapshot's (b"" is the empty state)."""
        ...


class Command(msgspec.Struct, frozen=True, array_like=True):
    """A log entry's data: the service it is for and that service's own encoding."""

    service: str
    body: bytes


_command = msgspec.msgpack.Decoder(Command)
_snapshot = msgspec.msgpack.Decoder(dict[str, bytes])
_encoder = msgspec.msgpack.Encoder()


def encode_command(service: str, body: bytes) -> bytes:
    return _encoder.encode(Command(service, body))


class CompositeStateMachine:
    """Services by name; its snapshot holds each service's snapshot under its name."""

    def __init__(self, services: Mapping[str, StateMachine]) -> None:
        self.services = dict(services)

    def apply(self, index: int, data: bytes) -> Any:
        try:
            command = _command.decode(data)
        except msgspec.DecodeError as exc:
            message = f"entry {index} is not a command ({exc})"
            raise RaftoralError(message, code="bad_entry") from exc
        service = self.services.get(command.service)
        if service is None:
            raise RaftoralError(
                f"entry {index} is for service {command.service!r}, which this node does not run;"
                " upgrade it",
                code="unknown_service",
            )
        return service.apply(index, command.body)

    def snapshot(self) -> bytes:
        return _encoder.encode({name: sm.snapshot() for name, sm in self.services.items()})

    def restore(self, data: bytes) -> None:
        parts = _snapshot.decode(data) if data else {}
        for name, sm in self.services.items():
            sm.restore(parts.get(name, b""))
