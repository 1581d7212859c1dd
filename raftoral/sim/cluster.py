"""The simulated cluster: nodes wired to one faulty network; crash, restart, join and retire.

Nodes are kept in id order (new ids only grow), so every iteration is deterministic.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

from raftoral.raft.config import RaftConfig
from raftoral.raft.types import Message, Role
from raftoral.sim.clock import EventQueue
from raftoral.sim.network import Network
from raftoral.sim.node import CoreFactory, NodeEnv, NodeObserver, SimNode

TICK_MS = 10

ConfigFactory = Callable[[int], RaftConfig]


class Cluster:
    """Owns the running nodes and the network. The first nodes have ids 1..n and are bootstrapped
    with all of them as voters; nodes that join later get fresh ids and an empty storage."""

    def __init__(
        self,
        size: int,
        make_config: ConfigFactory,
        queue: EventQueue,
        *,
        observer: NodeObserver,
        core_factory: CoreFactory,
        node_rng: random.Random,
        net_rng: random.Random,
        fsync_max: int,
        snapshot_pad: int,
        stats: Counter[str],
    ) -> None:
        self._rng = node_rng
        self._stats = stats
        self._make_config = make_config
        self.network = Network(queue, net_rng, self._deliver, stats)
        self._env = NodeEnv(
            queue,
            self.network.send,
            observer,
            core_factory,
            node_rng,
            fsync_max,
            stats,
            snapshot_pad,
        )
        voters = tuple(range(1, size + 1))
        self._nodes = {i: self._new_node(i, voters) for i in voters}
        self.next_id = size + 1

    @property
    def nodes(self) -> list[SimNode]:
        """The running (not retired) nodes, in id order."""
        return list(self._nodes.values())

    def ids(self) -> list[int]:
        return list(self._nodes)

    def node(self, node_id: int) -> SimNode:
        return self._nodes[node_id]

    def has(self, node_id: int) -> bool:
        return node_id in self._nodes

    def start(self) -> None:
        for node in self.nodes:
            node.start(phase=self._rng.randint(1, TICK_MS))

    def join(self) -> SimNode:
        """Start a new node with a fresh id and an empty storage (it learns the configuration
        from the leader's log or snapshot)."""
        node = self._new_node(self.next_id, None)
        self.next_id += 1
        self._nodes[node.id] = node
        node.start(phase=self._rng.randint(1, TICK_MS))
        return node

    def retire(self, node_id: int) -> None:
        """Stop a node for good (it was removed from the configuration); its id is not reused."""
        self._stats["nodes_retired"] += 1
        self._nodes.pop(node_id).crash()
        self.network.crashed(node_id)

    def crash(self, node_id: int) -> None:
        node = self.node(node_id)
        self._stats["crashes"] += 1
        if node.storage.staged_snapshot() is not None:
            self._stats["crashes_mid_transfer"] += 1
        node.crash()
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

    def _new_node(self, node_id: int, voters: tuple[int, ...] | None) -> SimNode:
        tick_ms = TICK_MS + self._rng.randint(-1, 1)
        return SimNode(self._make_config(node_id), voters, tick_ms, self._env)

    def _deliver(self, msg: Message) -> None:
        node = self._nodes.get(msg.to)
        if node is not None:
            node.receive(msg)
        else:
            self._stats["msg_to_retired_node"] += 1
