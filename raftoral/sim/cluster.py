"""The simulated cluster: N nodes wired to one faulty network, with crash and restart by id.

Nodes are kept in id order, so every iteration over them is deterministic.
"""

from __future__ import annotations

import random
from collections import Counter

from raftoral.raft.config import RaftConfig
from raftoral.raft.types import Message, Role
from raftoral.sim.clock import EventQueue
from raftoral.sim.network import Network
from raftoral.sim.node import CoreFactory, NodeEnv, NodeObserver, SimNode

TICK_MS = 10


class Cluster:
    """Owns the nodes and the network; node ids are 1..n."""

    def __init__(
        self,
        configs: list[RaftConfig],
        queue: EventQueue,
        *,
        observer: NodeObserver,
        core_factory: CoreFactory,
        node_rng: random.Random,
        net_rng: random.Random,
        fsync_max: int,
        stats: Counter[str],
    ) -> None:
        self._rng = node_rng
        self._stats = stats
        self.network = Network(queue, net_rng, self._deliver, stats)
        env = NodeEnv(queue, self.network.send, observer, core_factory, node_rng, fsync_max, stats)
        voters = tuple(config.node_id for config in configs)
        self.nodes = [
            SimNode(config, voters, TICK_MS + node_rng.randint(-1, 1), env) for config in configs
        ]

    def node(self, node_id: int) -> SimNode:
        return self.nodes[node_id - 1]

    def start(self) -> None:
        for node in self.nodes:
            node.start(phase=self._rng.randint(1, TICK_MS))

    def crash(self, node_id: int) -> None:
        self._stats["crashes"] += 1
        self.node(node_id).crash()
        self.network.crashed(node_id)

    def restart(self, node_id: int) -> None:
        self._stats["restarts"] += 1
        self.node(node_id).start(phase=self._rng.randint(1, TICK_MS))

    def leader(self) -> SimNode | None:
        """The up leader with the highest term, if any."""
        leaders = [
            (node.core.term, node.id)
            for node in self.nodes
            if node.core is not None and node.core.role == Role.LEADER
        ]
        return self.node(max(leaders)[1]) if leaders else None

    def _deliver(self, msg: Message) -> None:
        if 1 <= msg.to <= len(self.nodes):
            self.node(msg.to).receive(msg)
