"""The replicated workflow state machine (service "workflow"): runs, checkpoint queues, ownership
epochs and retention of finished runs. Pure: apply depends only on the commands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import msgspec

from raftoral.workflow.commands import (
    Checkpoint,
    ErrorInfo,
    OwnerChange,
    SetRetention,
    WorkflowCommand,
    WorkflowEnd,
    WorkflowStart,
    decode_command,
)
from raftoral.workflow.records import (
    DEFAULT_MAX_AGE_MS,
    DEFAULT_MAX_FINISHED,
    ApplyResult,
    CheckpointAccepted,
    CommittedCheckpoint,
    Conflict,
    Ended,
    Ignored,
    IgnoreReason,
    OwnerChanged,
    RetentionSet,
    Started,
    Status,
    WorkflowCounts,
    WorkflowInfo,
)


class _Run(msgspec.Struct, array_like=True):
    """One workflow. A finished run drops its checkpoint queue and keeps the count (`steps`)."""

    workflow_id: str
    name: str
    version: int
    input: bytes
    owner: int
    started_at: int
    epoch: int = 0
    status: Status = "running"
    steps: int = 0
    checkpoints: list[CommittedCheckpoint] = []
    result: bytes | None = None
    error: ErrorInfo | None = None
    finished_at: int | None = None


class _State(msgspec.Struct, array_like=True):
    """Everything replicated. `finished` lists finished runs in finish order with their finish
    time on `clock`, the largest command timestamp applied so far (never a local clock)."""

    runs: dict[str, _Run] = {}
    finished: dict[str, int] = {}
    clock: int = 0
    retention: SetRetention = SetRetention(DEFAULT_MAX_FINISHED, DEFAULT_MAX_AGE_MS)
    started: dict[str, dict[int, int]] = {}
    ended: dict[str, dict[str, int]] = {}


_K = TypeVar("_K")
_encoder = msgspec.msgpack.Encoder()
_state_decoder = msgspec.msgpack.Decoder(_State)


class WorkflowStateMachine:
    """Applies workflow commands (the node's StateMachine protocol: apply, snapshot, restore) and
    answers describe/list queries. Retention starts at the defaults; SetRetention changes it."""

    def __init__(self) -> None:
        self._state = _State()

    # -- apply -----------------------------------------------------------------------------

    def apply(self, index: int, data: bytes) -> ApplyResult:
        return self.apply_command(decode_command(data, index))

    def apply_command(self, command: WorkflowCommand) -> ApplyResult:
        match command:
            case WorkflowStart():
                return self._start(command)
            case Checkpoint():
                return self._checkpoint(command)
            case WorkflowEnd():
                return self._end(command)
            case OwnerChange():
                return self._owner_change(command)
            case SetRetention():
                return self._set_retention(command)

    def _start(self, command: WorkflowStart) -> Started | Conflict:
        self._advance_clock(command.started_at)
        run = self._state.runs.get(command.workflow_id)
        if run is None:
            run = _Run(
                command.workflow_id,
                command.name,
                command.version,
                command.input,
                command.owner,
                command.started_at,
            )
            self._state.runs[run.workflow_id] = run
            _bump(self._state.started.setdefault(run.name, {}), run.version)
            return Started(run.workflow_id, existing=False, version=run.version, status=run.status)
        if run.name != command.name or run.input != command.input:
            return Conflict(run.workflow_id, _conflict_message(run, command))
        return Started(run.workflow_id, existing=True, version=run.version, status=run.status)

    def _checkpoint(self, command: Checkpoint) -> CheckpointAccepted | Ignored:
        run = self._admit(command.workflow_id, command.epoch)
        if isinstance(run, Ignored):
            return run
        if command.seq != len(run.checkpoints):
            reason: IgnoreReason = (
                "duplicate" if command.seq < len(run.checkpoints) else "sequence_gap"
            )
            return Ignored(run.workflow_id, reason)
        committed = CommittedCheckpoint(
            command.seq, command.key, command.value, command.is_error, command.attempt
        )
        run.checkpoints.append(committed)
        run.steps += 1
        return CheckpointAccepted(run.workflow_id, committed)

    def _end(self, command: WorkflowEnd) -> Ended | Ignored:
        run = self._admit(command.workflow_id, command.epoch)
        if isinstance(run, Ignored):
            return run
        self._advance_clock(command.finished_at)
        run.status = "completed" if command.error is None else "failed"
        run.result, run.error = command.result, command.error
        run.finished_at = command.finished_at
        run.checkpoints = []
        self._state.finished[run.workflow_id] = self._state.clock
        _bump(self._state.ended.setdefault(run.name, {}), run.status)
        self._evict()
        return Ended(run.workflow_id, run.status, run.result, run.error)

    def _owner_change(self, command: OwnerChange) -> OwnerChanged | Ignored:
        run = self._admit(command.workflow_id, command.epoch - 1)
        if isinstance(run, Ignored):
            return run
        run.owner, run.epoch = command.new_owner, command.epoch
        return OwnerChanged(run.workflow_id, run.owner, run.epoch)

    def _set_retention(self, command: SetRetention) -> RetentionSet:
        self._state.retention = command
        self._evict()
        return RetentionSet(command.max_finished, command.max_age_ms)

    def _admit(self, workflow_id: str, epoch: int) -> _Run | Ignored:
        """The running workflow a command proposed at ownership `epoch` may change, or why not."""
        run = self._state.runs.get(workflow_id)
        if run is None:
            return Ignored(workflow_id, "unknown_workflow")
        if run.status != "running":
            return Ignored(workflow_id, "finished")
        if epoch != run.epoch:
            return Ignored(workflow_id, "stale_epoch" if epoch < run.epoch else "future_epoch")
        return run

    # -- retention -------------------------------------------------------------------------

    def _advance_clock(self, timestamp: int) -> None:
        if timestamp > self._state.clock:
            self._state.clock = timestamp
            self._evict()

    def _evict(self) -> None:
        """Forget the oldest finished runs while there are more than `max_finished`, or while
        the oldest finished more than `max_age_ms` before `clock`."""
        state = self._state
        horizon = state.clock - state.retention.max_age_ms
        finished = state.finished
        while finished:
            workflow_id, finished_at = next(iter(finished.items()))
            if len(finished) <= state.retention.max_finished and finished_at >= horizon:
                return
            del finished[workflow_id]
            del state.runs[workflow_id]

    # -- queries ---------------------------------------------------------------------------

    def describe(self, workflow_id: str) -> WorkflowInfo | None:
        run = self._state.runs.get(workflow_id)
        return None if run is None else _info(run)

    def workflows(self, status: Status | None = None) -> list[WorkflowInfo]:
        """Known runs in start order, optionally only those with `status`."""
        runs = self._state.runs.values()
        return [_info(run) for run in runs if status is None or run.status == status]

    def checkpoints(self, workflow_id: str) -> Sequence[CommittedCheckpoint]:
        """The committed checkpoint queue of a running workflow (empty once it finished)."""
        run = self._state.runs.get(workflow_id)
        return () if run is None else run.checkpoints

    def counts(self) -> WorkflowCounts:
        state = self._state
        running = len(state.runs) - len(state.finished)
        return WorkflowCounts(running, state.started, state.ended)

    @property
    def retention(self) -> SetRetention:
        return self._state.retention

    # -- snapshot --------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        return _encoder.encode(self._state)

    def restore(self, data: bytes) -> None:
        self._state = _state_decoder.decode(data) if data else _State()


def _bump(counter: dict[_K, int], key: _K) -> None:
    counter[key] = counter.get(key, 0) + 1


def _conflict_message(run: _Run, command: WorkflowStart) -> str:
    what = "another input" if run.name == command.name else f"workflow {run.name!r}"
    return (
        f"workflow id {run.workflow_id!r} is already used by a run of {what}; an id is an"
        " idempotency key, so start a different request under a new id"
    )


def _info(run: _Run) -> WorkflowInfo:
    return WorkflowInfo(
        run.workflow_id,
        run.name,
        run.version,
        run.status,
        run.owner,
        run.epoch,
        run.steps,
        run.started_at,
        run.finished_at,
        run.input,
        run.result,
        run.error,
    )
