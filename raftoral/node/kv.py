"""The replicated key-value service: the test and benchmark workload, and the example of a user
state machine (put, delete; reads are served from its map)."""

from __future__ import annotations

from typing import Any

import msgspec

from raftoral.errors import RaftoralError

SERVICE = "kv"


class Put(msgspec.Struct, frozen=True, array_like=True, tag=0):
    key: str
    value: bytes


class Delete(msgspec.Struct, frozen=True, array_like=True, tag=1):
    key: str


KvCommand = Put | Delete

_encoder = msgspec.msgpack.Encoder()
_command = msgspec.msgpack.Decoder(KvCommand)
_snapshot = msgspec.msgpack.Decoder(dict[str, bytes])


def encode(command: KvCommand) -> bytes:
    return _encoder.encode(command)


class KvStateMachine:
    """A dict of str -> bytes. `apply` returns whether the key existed before."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    def apply(self, index: int, data: bytes) -> Any:
        try:
            command = _command.decode(data)
        except msgspec.DecodeError as exc:
            raise RaftoralError(f"kv entry {index} does not decode ({exc})") from exc
        existed = command.key in self.data
        if isinstance(command, Put):
            self.data[command.key] = command.value
        else:
            self.data.pop(command.key, None)
        return existed

    def snapshot(self) -> bytes:
        return _encoder.encode(self.data)

    def restore(self, data: bytes) -> None:
        self.data = dict(_snapshot.decode(data)) if data else {}
