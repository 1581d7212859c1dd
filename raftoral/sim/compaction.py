"""Log compaction at random points: a random up node snapshots its state machine and compacts its
log at its applied index, so lagging followers need InstallSnapshot."""

from __future__ import annotations

import random
from collections import Counter

from raftoral.sim.clock import EventQueue
from raftoral.sim.cluster import Cluster


class Compactor:
    """Every ~`every` virtual ms, one random up node compacts (never when `every` is 0)."""

    def __init__(
        self, cluster: Cluster, queue: EventQueue, rng: random.Random, stats: Counter[str]
    ) -> None:
        self._cluster = cluster
        self._queue = queue
        self._rng = rng
        self._stats = stats
        self._every = 0

    def start(self, every: int) -> None:
        self._every = every
        self._schedule()

    def stop(self) -> None:
        self._every = 0

    def _schedule(self) -> None:
        if self._every:
            self._queue.schedule(self._rng.randint(1, 2 * self._every), "compact", self._compact)

    def _compact(self) -> None:
        if not self._every:
            return
        up = [node for node in self._cluster.nodes if node.up]
        if up and self._rng.choice(up).compact():
            self._stats["compactions"] += 1
        self._schedule()
