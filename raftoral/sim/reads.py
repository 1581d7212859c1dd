"""ReadIndex reads: a client that issues them to random nodes, and their linearizability check.

A read must return a state at least as new as every write acknowledged and every read completed
before it was invoked (so reads that do not overlap are monotonic in real time).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from raftoral.errors import ReadIndexDropped
from raftoral.sim.clock import EventQueue
from raftoral.sim.cluster import Cluster
from raftoral.sim.periodic import Periodic
from raftoral.sim.violation import InvariantViolation


@dataclass(frozen=True)
class PendingRead:
    node: int
    invoked_ms: int
    floor: int  # the newest acknowledged write or completed read when it was invoked


class ReadChecker:
    """Tracks acknowledged writes, invoked reads and their results."""

    def __init__(self) -> None:
        self.acked_max = 0  # highest index acknowledged to a client
        self.completed_max = 0  # highest state returned by a completed read
        self.served = 0
        self._pending: dict[bytes, PendingRead] = {}

    def acknowledged(self, index: int) -> None:
        self.acked_max = max(self.acked_max, index)

    def invoked(self, context: bytes, node: int, now: int) -> None:
        floor = max(self.acked_max, self.completed_max)
        self._pending[context] = PendingRead(node, now, floor)

    def answered(self, node: int, context: bytes, index: int) -> None:
        """Node `node` returned its state at applied `index` for the read `context` (repeated
        answers of one read, e.g. from a duplicated message, are ignored)."""
        read = self._pending.pop(context, None)
        if read is None:
            return
        self.served += 1
        if index < read.floor:
            raise InvariantViolation(
                "linearizable_read",
                f"read {context!r} invoked on node {read.node} at {read.invoked_ms} ms returned "
                f"the state at index {index} (served by node {node}), older than index "
                f"{read.floor}, acknowledged or read before the read began",
            )
        self.completed_max = max(self.completed_max, index)


class Reader(Periodic):
    """Issues a ReadIndex read with a unique context to a random up node every ~`every` ms."""

    label = "read"

    def __init__(
        self,
        cluster: Cluster,
        queue: EventQueue,
        rng: random.Random,
        reads: ReadChecker,
        stats: Counter[str],
    ) -> None:
        super().__init__(queue, rng)
        self._cluster = cluster
        self._reads = reads
        self._stats = stats
        self._seq = 0

    def act(self) -> None:
        node = self._cluster.node(self._rng.choice(self._cluster.ids()))
        if node.up:
            self._seq += 1
            context = b"read-%d" % self._seq
            self._reads.invoked(context, node.id, self._queue.now)
            try:
                node.read_index(context)
                self._stats["reads_invoked"] += 1
            except ReadIndexDropped:
                self._stats["reads_dropped"] += 1
