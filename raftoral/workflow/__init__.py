"""Durable workflows: the App and its registry, the WorkflowContext a body sees, and the pure
replicated state machine (service "workflow") of runs, checkpoint queues and ownership epochs."""

from raftoral.workflow.app import App
from raftoral.workflow.commands import SERVICE
from raftoral.workflow.context import CheckpointChannel, WorkflowContext
from raftoral.workflow.registry import WorkflowDefinition
from raftoral.workflow.state_machine import WorkflowStateMachine

__all__ = [
    "SERVICE",
    "App",
    "CheckpointChannel",
    "WorkflowContext",
    "WorkflowDefinition",
    "WorkflowStateMachine",
]
