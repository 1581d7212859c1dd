"""Log compaction at random points: a random up node snapshots its state machine and compacts its
log at its applied index, so lagging followers need InstallSnapshot."""

from __future__ import annotations

import random
from collections import Counter

from raftoral.sim.clock import EventQueue
from raftoral.sim.cluster import Cluster
from raftoral.sim.periodic import Periodic


class Compactor(Periodic):
    """Every ~`every` virtual ms, one random up node compacts (never when `every` is 0)."""

    label = "compact"

    def __init__(
        self, cluster: Cluster, queue: EventQueue, rng: random.Random, stats: Counter[str]
    ) -> None:
        super().__init__(queue, rng)
        self._cluster = cluster
        self._stats = stats

    def act(self) -> None:
        up = [node for node in self._cluster.nodes if node.up]
        if up and self._rng.choice(up).compact():
            self._stats["compactions"] += 1
