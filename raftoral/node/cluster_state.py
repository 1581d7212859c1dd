"""The replicated "cluster" service: the node id allocator and the member address book
(node id -> host:port), so every node can reach every member and ids never collide."""

from __future__ import annotations

from typing import Any

import msgspec

from raftoral.errors import RaftoralError
from raftoral.raft.types import ConfChange, ConfChangeType

SERVICE = "cluster"


class AllocateId(msgspec.Struct, frozen=True, array_like=True, tag=0):
    """Allocate the next node id, at least `floor` (the proposer's highest member id + 1)."""

    floor: int


class SetAddresses(msgspec.Struct, frozen=True, array_like=True, tag=1):
    addresses: dict[int, str]


ClusterCommand = AllocateId | SetAddresses


class _State(msgspec.Struct, array_like=True):
    next_id: int = 1
    addresses: dict[int, str] = {}


_encoder = msgspec.msgpack.Encoder()
_command = msgspec.msgpack.Decoder(ClusterCommand)
_state = msgspec.msgpack.Decoder(_State)


def encode(command: ClusterCommand) -> bytes:
    return _encoder.encode(command)


class ClusterState:
    """`apply` returns the allocated id for AllocateId, None otherwise. Membership changes come
    from the group's CONF_CHANGE entries through `apply_conf_change`."""

    def __init__(self) -> None:
        self._state = _State()

    @property
    def addresses(self) -> dict[int, str]:
        return self._state.addresses

    def apply(self, index: int, data: bytes) -> Any:
        try:
            command = _command.decode(data)
        except msgspec.DecodeError as exc:
            raise RaftoralError(f"cluster entry {index} does not decode ({exc})") from exc
        state = self._state
        if isinstance(command, AllocateId):
            node_id = max(state.next_id, command.floor)
            state.next_id = node_id + 1
            return node_id
        state.addresses.update(command.addresses)
        return None

    def apply_conf_change(self, change: ConfChange) -> None:
        """An added node's address travels in the change's context; a removed one is forgotten."""
        state = self._state
        if change.type == ConfChangeType.REMOVE_NODE:
            state.addresses.pop(change.node_id, None)
        elif change.context:
            state.addresses[change.node_id] = change.context.decode()
        state.next_id = max(state.next_id, change.node_id + 1)

    def snapshot(self) -> bytes:
        return _encoder.encode(self._state)

    def restore(self, data: bytes) -> None:
        self._state = _state.decode(data) if data else _State()
