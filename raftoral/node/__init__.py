"""A raftoral node: its actors on the bus (RaftGroupActor, ClusterRouterActor), persistence,
identity and configuration. Start one with `Node.start(NodeConfig(...))`."""

from raftoral.node.config import NodeConfig, RaftTiming
from raftoral.node.node import Node

__all__ = ["Node", "NodeConfig", "RaftTiming"]
