"""The leader's side of workflow commands proposed by other nodes (ProposeWorkflow), and how
apply results and runs are put on the wire (WorkflowProposed, WorkflowSummary)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors import Context
from raftoral.node.workflow_catalog import CATALOG, Announced
from raftoral.wire import ErrorCode, ProposeWorkflow, WorkflowProposed, WorkflowSummary
from raftoral.workflow.commands import SERVICE
from raftoral.workflow.records import (
    CheckpointAccepted,
    Conflict,
    Ended,
    Ignored,
    OwnerChanged,
    Started,
    WorkflowInfo,
)

if TYPE_CHECKING:
    from raftoral.node.calls import ClientCalls


def propose_workflow(calls: ClientCalls, request: ProposeWorkflow, ctx: Context) -> None:
    """Propose the command on this (leader's) group; answered with its apply result."""
    if request.service not in (SERVICE, CATALOG):
        ctx.fail(ErrorCode.REJECTED, f"no workflow service {request.service!r}")
        return
    calls.propose(ctx, request.service, request.body, proposed)


def proposed(index: int, result: Any) -> WorkflowProposed:
    match result:
        case Started():
            return WorkflowProposed(
                index, "started", result.existing, result.version, result.status
            )
        case Conflict():
            return WorkflowProposed(index, "conflict", message=result.message)
        case CheckpointAccepted():
            return WorkflowProposed(index, "accepted")
        case Ended():
            return WorkflowProposed(index, "ended", status=result.status)
        case OwnerChanged():
            return WorkflowProposed(index, "owner_changed")
        case Ignored():
            return WorkflowProposed(index, "ignored", message=result.reason)
        case Announced():
            return WorkflowProposed(index, "announced")
    return WorkflowProposed(index, "retention")


def summary(info: WorkflowInfo, notes: tuple[str, ...] = ()) -> WorkflowSummary:
    error = info.error
    return WorkflowSummary(
        workflow_id=info.workflow_id,
        name=info.name,
        version=info.version,
        status=info.status,
        owner=info.owner,
        epoch=info.epoch,
        checkpoints=info.checkpoints,
        started_at=info.started_at,
        finished_at=info.finished_at,
        input=info.input,
        result=info.result,
        error_type=error.type if error else "",
        error_message=error.message if error else "",
        notes=notes,
    )
