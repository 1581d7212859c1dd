"""Raftoral: durable workflow orchestration embedded in your own services, replicated with Raft."""

from raftoral.client import Client
from raftoral.errors import RaftoralError
from raftoral.handles import WorkflowHandle
from raftoral.node import Node, NodeConfig, RaftTiming
from raftoral.workflow import App, WorkflowContext

__version__ = "0.1.0"

__all__ = [
    "App",
    "Client",
    "Node",
    "NodeConfig",
    "RaftTiming",
    "RaftoralError",
    "WorkflowContext",
    "WorkflowHandle",
    "__version__",
]
