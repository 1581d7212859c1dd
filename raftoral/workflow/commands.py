"""The replicated commands of the workflow service ("workflow"): start, checkpoint, end, owner
change and retention, as a tagged union of frozen msgspec Structs, with their codec."""

from __future__ import annotations

import msgspec

from raftoral.errors import RaftoralError

SERVICE = "workflow"


class ErrorInfo(msgspec.Struct, frozen=True, array_like=True):
    """A replicated exception: its type name and message (never the traceback)."""

    type: str
    message: str


class WorkflowStart(msgspec.Struct, frozen=True, array_like=True, tag=0):
    """Start `workflow_id` as `name` at `version` with `input` (MessagePack), owned by `owner`.
    `started_at` (ms since the epoch) is chosen by the proposer: apply reads no clock."""

    workflow_id: str
    name: str
    version: int
    input: bytes
    owner: int
    started_at: int


class Checkpoint(msgspec.Struct, frozen=True, array_like=True, tag=1):
    """Step `seq` of a workflow, recorded under `key`. `value` is MessagePack: the value, or an
    ErrorInfo when `is_error` (a side effect raised). `epoch` is the proposer's ownership epoch;
    `attempt` the body's `ctx.attempt` when it produced the value."""

    workflow_id: str
    seq: int
    key: str
    value: bytes
    epoch: int
    is_error: bool = False
    attempt: int = 1


class WorkflowEnd(msgspec.Struct, frozen=True, array_like=True, tag=2):
    """The end of a workflow: `result` (MessagePack) when it completed, `error` when it failed.
    `finished_at` (ms) is chosen by the proposer, like `started_at`."""

    workflow_id: str
    epoch: int
    result: bytes | None
    error: ErrorInfo | None
    finished_at: int


class OwnerChange(msgspec.Struct, frozen=True, array_like=True, tag=3):
    """Hand `workflow_id` to `new_owner` at `epoch`, which must be the current epoch + 1."""

    workflow_id: str
    new_owner: int
    epoch: int


class SetRetention(msgspec.Struct, frozen=True, array_like=True, tag=4):
    """How many finished runs to keep, and for how long (ms, on the commands' own clock). Part of
    the replicated state, so every node evicts the same runs at the same entry."""

    max_finished: int
    max_age_ms: int


WorkflowCommand = WorkflowStart | Checkpoint | WorkflowEnd | OwnerChange | SetRetention

_encoder = msgspec.msgpack.Encoder()
_decoder: msgspec.msgpack.Decoder[WorkflowCommand] = msgspec.msgpack.Decoder(WorkflowCommand)


def encode_command(command: WorkflowCommand) -> bytes:
    """The body of a "workflow" service command (wrap it with the node's `encode_command`)."""
    return _encoder.encode(command)


def decode_command(data: bytes, index: int = 0) -> WorkflowCommand:
    """Decode a command body; a body that does not decode is a `bad_entry` naming `index`."""
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise RaftoralError(
            f"workflow entry {index} does not decode ({exc})", code="bad_entry"
        ) from exc
