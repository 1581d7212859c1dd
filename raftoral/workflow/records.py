"""What the workflow state machine keeps and answers: committed checkpoints, workflow summaries,
metric counts, and the results of applying each command (for proposers and waiters)."""

from __future__ import annotations

from typing import Final, Literal

import msgspec

from raftoral.workflow.commands import ErrorInfo

Status = Literal["running", "completed", "failed"]
IgnoreReason = Literal[
    "unknown_workflow", "finished", "stale_epoch", "future_epoch", "duplicate", "sequence_gap"
]

DEFAULT_MAX_FINISHED: Final = 10_000
DEFAULT_MAX_AGE_MS: Final = 7 * 24 * 3600 * 1000


class CommittedCheckpoint(msgspec.Struct, frozen=True, array_like=True):
    """One entry of a workflow's checkpoint queue, as committed (see commands.Checkpoint)."""

    seq: int
    key: str
    value: bytes
    is_error: bool
    attempt: int


class WorkflowInfo(msgspec.Struct, frozen=True):
    """A workflow as `describe` shows it. `checkpoints` counts committed steps; `started_at` and
    `finished_at` are the proposers' timestamps (ms)."""

    workflow_id: str
    name: str
    version: int
    status: Status
    owner: int
    epoch: int
    checkpoints: int
    started_at: int
    finished_at: int | None
    input: bytes
    result: bytes | None
    error: ErrorInfo | None


class WorkflowCounts(msgspec.Struct, frozen=True):
    """Totals since the cluster began (replicated, so equal on every node): running now, started
    by name and version, finished by name and status."""

    running: int
    started: dict[str, dict[int, int]]
    finished: dict[str, dict[str, int]]


# -- apply results ---------------------------------------------------------------------------


class Started(msgspec.Struct, frozen=True):
    """A start committed: a new run, or (`existing`) the run that already has this id."""

    workflow_id: str
    existing: bool
    version: int
    status: Status


class Conflict(msgspec.Struct, frozen=True):
    """A start whose id is taken by a run with another name or input; nothing changed."""

    workflow_id: str
    message: str
    code: str = "workflow_conflict"


class CheckpointAccepted(msgspec.Struct, frozen=True):
    workflow_id: str
    checkpoint: CommittedCheckpoint


class Ended(msgspec.Struct, frozen=True):
    """A workflow finished; carries the outcome, since retention may forget the run at once."""

    workflow_id: str
    status: Status
    result: bytes | None
    error: ErrorInfo | None


class OwnerChanged(msgspec.Struct, frozen=True):
    workflow_id: str
    owner: int
    epoch: int


class RetentionSet(msgspec.Struct, frozen=True):
    max_finished: int
    max_age_ms: int


class Ignored(msgspec.Struct, frozen=True):
    """A command that changed nothing, and why: no such run, run already finished, a stale (or
    impossible future) epoch, a step already committed (`duplicate`) or one past the next step
    (`sequence_gap`: an earlier pipelined step never committed)."""

    workflow_id: str
    reason: IgnoreReason


ApplyResult = (
    Started | Conflict | CheckpointAccepted | Ended | OwnerChanged | RetentionSet | Ignored
)
