"""`WorkflowContext`, what a workflow body sees (checkpoint, checkpoint_compute, now, random),
and `CheckpointChannel`, the executor's side of it. Pure: the executor brings the I/O."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol, TypeVar, overload

import msgspec

from raftoral.errors import NonDeterminismError, WorkflowStepFailed
from raftoral.workflow.codec import decode_value, encode_value
from raftoral.workflow.commands import Checkpoint, ErrorInfo
from raftoral.workflow.records import CommittedCheckpoint

NOW_KEY: Final = "raftoral.now"
RANDOM_KEY: Final = "raftoral.random"

_T = TypeVar("_T")
_error_decoder = msgspec.msgpack.Decoder(ErrorInfo)


class CheckpointChannel(Protocol):
    """How a context reaches its node's executor for one workflow."""

    def epoch(self) -> int:
        """The ownership epoch this node acts at; its proposals carry it, ctx.attempt is it + 1."""
        ...

    async def next_committed(self, seq: int) -> CommittedCheckpoint | None:
        """Step `seq` once it is committed; None as soon as this node is the owner and step
        `seq` is not committed (then the body computes it). A waiter that becomes owner while
        waiting gets None."""
        ...

    def propose(self, checkpoint: Checkpoint) -> None:
        """Propose a step without waiting for it to commit (the owner pipelines)."""
        ...

    async def propose_and_wait(self, checkpoint: Checkpoint) -> CommittedCheckpoint:
        """Propose a step and return the entry committed at its `seq`: this one, or the one of
        a newer owner if this node lost ownership meanwhile."""
        ...

    def now_ms(self) -> int:
        """This node's wall clock, ms since the epoch (only the owner's reading is used)."""
        ...

    def random_bits(self) -> int:
        """64 random bits as a non-negative int (only the owner's draw is used)."""
        ...


class WorkflowContext:
    """The API of a workflow body. Every call is a step of a sequence identical on every node:
    the owner records each step, the others (and a new owner, replaying) read them back."""

    def __init__(self, workflow_id: str, channel: CheckpointChannel) -> None:
        self._workflow_id = workflow_id
        self._channel = channel
        self._seq = 0

    @property
    def workflow_id(self) -> str:
        return self._workflow_id

    @property
    def attempt(self) -> int:
        """1 under the first owner, raised by every change of owner: a side effect that runs with
        attempt > 1 may have run before (at-least-once), so make it idempotent by workflow_id
        and key."""
        return self._channel.epoch() + 1

    async def checkpoint(self, key: str, value: _T, *, type: Any = None) -> _T:
        """Record deterministic state as step `key`; may return before it commits. Returns the
        value as it decodes from its recorded bytes as `type` (default: type(value)), the same
        on every node: give `type=list[Order]` for containers of Structs."""
        target = _type_of(value) if type is None else type
        result: _T = await self._pipelined(key, lambda: encode_value(value, repr(key)), target)
        return result

    @overload
    async def checkpoint_compute(
        self, key: str, fn: Callable[[], Awaitable[_T]], *, type: Any = None
    ) -> _T: ...

    @overload
    async def checkpoint_compute(
        self, key: str, fn: Callable[[], _T], *, type: Any = None
    ) -> _T: ...

    async def checkpoint_compute(self, key: str, fn: Callable[[], Any], *, type: Any = None) -> Any:
        """Run the side effect `fn` (sync or async) once, on the owner, as step `key`, and return
        its result once committed, decoded as `type` (default: fn's return annotation, else
        msgspec builtins). If fn raised, every node raises WorkflowStepFailed."""
        committed = await self._next(key)
        if committed is None:
            committed = await self._compute(key, fn)
        self._seq += 1
        return self._resolve(committed, _return_type(fn) if type is None else type)

    async def now(self) -> float:
        """Deterministic wall-clock time (seconds since the epoch): the owner's clock, recorded
        as a step."""
        ms: int = await self._pipelined(NOW_KEY, lambda: self._sample(self._channel.now_ms), int)
        return ms / 1000

    async def random(self) -> float:
        """A deterministic random float in [0, 1): the owner's draw, recorded as a step."""
        bits: int = await self._pipelined(
            RANDOM_KEY, lambda: self._sample(self._channel.random_bits), int
        )
        return (bits >> 11) / (1 << 53)

    # -- steps -----------------------------------------------------------------------------

    async def _pipelined(self, key: str, produce: Callable[[], bytes], target: Any) -> Any:
        entry: Checkpoint | CommittedCheckpoint | None = await self._next(key)
        if entry is None:
            entry = self._entry(key, produce())
            self._channel.propose(entry)
        self._seq += 1
        return self._resolve(entry, target)

    async def _compute(self, key: str, fn: Callable[[], Any]) -> CommittedCheckpoint:
        try:
            result = fn()
            if inspect.isawaitable(result):
                result = await result
            entry = self._entry(key, encode_value(result, f"the result of step {key!r}"))
        except Exception as exc:
            info = ErrorInfo(_type_name(exc), str(exc))
            entry = self._entry(key, encode_value(info, "an error"), is_error=True)
        committed = await self._channel.propose_and_wait(entry)
        self._check_key(committed, key)
        return committed

    async def _next(self, key: str) -> CommittedCheckpoint | None:
        committed = await self._channel.next_committed(self._seq)
        if committed is not None:
            self._check_key(committed, key)
        return committed

    def _entry(self, key: str, value: bytes, *, is_error: bool = False) -> Checkpoint:
        epoch = self._channel.epoch()
        return Checkpoint(self._workflow_id, self._seq, key, value, epoch, is_error, epoch + 1)

    @staticmethod
    def _sample(read: Callable[[], int]) -> bytes:
        return encode_value(read(), "a sample")

    def _check_key(self, committed: CommittedCheckpoint, key: str) -> None:
        if committed.key != key:
            raise NonDeterminismError(
                f"workflow {self._workflow_id!r} is not deterministic: step {committed.seq} was"
                f" recorded as {committed.key!r} but the code now asks for {key!r}; make the"
                " same checkpoint calls in the same order on every run, and register changed"
                " code as a new version",
                seq=committed.seq,
                expected=committed.key,
                actual=key,
            )

    def _resolve(self, entry: Checkpoint | CommittedCheckpoint, target: Any) -> Any:
        """The step's value as `target`, or its replicated exception raised."""
        if entry.is_error:
            info = _error_decoder.decode(entry.value)
            raise WorkflowStepFailed(
                f"step {entry.key!r} of workflow {self._workflow_id!r} failed: {info.type}:"
                f" {info.message}",
                key=entry.key,
                error_type=info.type,
                error_message=info.message,
            )
        try:
            return decode_value(entry.value, target)
        except msgspec.ValidationError as exc:
            raise NonDeterminismError(
                f"workflow {self._workflow_id!r} is not deterministic: step {entry.seq}"
                f" ({entry.key!r}) was recorded with a value that is not a {target!r} ({exc})",
                seq=entry.seq,
                expected=entry.key,
                actual=entry.key,
            ) from exc


def _type_of(value: object) -> Any:
    return type(value)


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _return_type(fn: Callable[..., Any]) -> Any:
    """fn's return annotation (an async fn's is what it returns when awaited), else Any."""
    try:
        return typing.get_type_hints(fn).get("return", Any)
    except (NameError, TypeError):
        return Any
