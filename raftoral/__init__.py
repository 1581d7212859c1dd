"""Raftoral: durable workflow orchestration embedded in your own services, replicated with Raft."""

from raftoral.client import Client
from raftoral.errors import RaftoralError
from raftoral.node import Node, NodeConfig, RaftTiming

__version__ = "0.1.0"

__all__ = ["Client", "Node", "NodeConfig", "RaftTiming", "RaftoralError", "__version__"]
