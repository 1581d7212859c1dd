"""Simulated clients: propose to whoever they believe leads, following ProposalDropped hints.

Accepted proposals are registered with the checker, which acknowledges them when applied.
"""

from __future__ import annotations

import random
from collections import Counter

from raftoral.errors import ProposalDropped
from raftoral.sim.clock import EventQueue
from raftoral.sim.cluster import Cluster
from raftoral.sim.invariants import Checker, Proposal


class Client:
    """Proposes a fresh value every ~`every` virtual ms (never when `every` is 0)."""

    def __init__(
        self,
        cluster: Cluster,
        queue: EventQueue,
        rng: random.Random,
        checker: Checker,
        stats: Counter[str],
    ) -> None:
        self._cluster = cluster
        self._queue = queue
        self._rng = rng
        self._checker = checker
        self._stats = stats
        self._leader = 0
        self._seq = 0
        self._active = False

    def start(self, every: int) -> None:
        self._active = True
        self._schedule(every)

    def stop(self) -> None:
        """No more background proposals (the quiet healing period)."""
        self._active = False

    def _schedule(self, every: int) -> None:
        if every and self._active:
            delay = self._rng.randint(1, 2 * every)
            self._queue.schedule(delay, "client", lambda: self._tick(every))

    def _tick(self, every: int) -> None:
        if self._active:
            self._seq += 1
            self.submit(b"v%d" % self._seq)
            self._schedule(every)

    def submit(self, data: bytes) -> Proposal | None:
        """Propose `data` to the believed leader (a random node if none); the accepted proposal."""
        cluster = self._cluster
        node_id = self._leader if cluster.has(self._leader) else self._rng.choice(cluster.ids())
        node = cluster.node(node_id)
        if not node.up:
            self._leader = 0
            self._stats["proposals_to_down_node"] += 1
            return None
        try:
            index, term = node.propose(data)
        except ProposalDropped as exc:
            self._leader = exc.leader
            self._stats["proposals_dropped"] += 1
            return None
        self._stats["proposals_accepted"] += 1
        proposal = Proposal(node.id, node.incarnation, index, term, data)
        self._checker.proposed(proposal)
        return proposal
