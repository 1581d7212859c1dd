"""A raftoral node: its actors on the bus (RaftGroupActor, ClusterRouterActor,
WorkflowExecutorActor), persistence, identity and configuration. `Node.start(config, app)`."""

from raftoral.node.config import NodeConfig, RaftTiming
from raftoral.node.node import Node

__all__ = ["Node", "NodeConfig", "RaftTiming"]
