"""`WorkflowHandle`, what `start_workflow` returns on a node and on a client: the run's id and
`result(timeout)`, which waits for the committed end and returns or raises its outcome."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from raftoral.errors import Timeout, WorkflowFailed
from raftoral.wire import WorkflowStarted, WorkflowSummary

Fetch = Callable[[str, float], Awaitable[WorkflowSummary]]  # (workflow_id, timeout) -> summary
Decode = Callable[[bytes], Any]


class WorkflowHandle:
    """A started run. `existing` is True when the id already named a run (idempotent start)."""

    def __init__(self, started: WorkflowStarted, fetch: Fetch, decode: Decode) -> None:
        self.workflow_id = started.workflow_id
        self.name = started.name
        self.version = started.version
        self.existing = started.existing
        self._fetch = fetch
        self._decode = decode

    def __repr__(self) -> str:
        return f"<WorkflowHandle {self.workflow_id!r} {self.name!r} v{self.version}>"

    async def result(self, timeout: float = 30.0) -> Any:
        """The workflow's result once its end is committed; WorkflowFailed if it failed,
        Timeout if it is still running after `timeout` seconds."""
        summary = await self._fetch(self.workflow_id, timeout)
        return outcome(summary, self._decode, timeout)


def outcome(summary: WorkflowSummary, decode: Decode, timeout: float) -> Any:
    """The decoded result of a finished run, or its failure raised."""
    if summary.status == "completed" and summary.result is not None:
        return decode(summary.result)
    if summary.status == "failed":
        raise WorkflowFailed(
            f"workflow {summary.workflow_id!r} ({summary.name} v{summary.version}) failed:"
            f" {summary.error_type}: {summary.error_message}",
            error_type=summary.error_type,
            error_message=summary.error_message,
        )
    raise Timeout(
        f"workflow {summary.workflow_id!r} is still {summary.status} after {timeout:g}s; ask for"
        " its result again later"
    )
