"""The liveness probe run after healing: find the leader, propose, wait for it to apply everywhere.

The simulation fails the seed when no probe is applied on every node within the time bound.
"""

from __future__ import annotations

from collections import Counter

from raftoral.errors import ProposalDropped
from raftoral.raft.types import Entry
from raftoral.sim.clock import EventQueue
from raftoral.sim.cluster import Cluster
from raftoral.sim.conf_watch import ConfWatch
from raftoral.sim.node import SimNode

PROBE_MS = 50  # how often the probe looks for a leader and proposes afresh


class LivenessProbe:
    """Every PROBE_MS: done if an earlier probe entry is applied on every member of the committed
    configuration, else propose one more on the current leader (if any)."""

    def __init__(
        self,
        cluster: Cluster,
        queue: EventQueue,
        stats: Counter[str],
        confs: ConfWatch,
        committed: dict[int, Entry],
    ) -> None:
        self._cluster = cluster
        self._queue = queue
        self._stats = stats
        self._confs = confs
        self._committed = committed
        self._probes: list[tuple[int, int]] = []  # (index, term) of accepted probe entries
        self.done = False

    def start(self) -> None:
        self._queue.schedule(0, "liveness probe", self._probe)

    def _probe(self) -> None:
        if any(self._applied_everywhere(index, term) for index, term in self._probes):
            self.done = True
            return
        leader = self._cluster.leader()
        if leader is not None:
            try:
                self._probes.append(leader.propose(b"probe-%d" % len(self._probes)))
                self._stats["liveness_probes"] += 1
            except ProposalDropped:  # a leadership transfer is under way
                self._stats["liveness_probes_dropped"] += 1
        self._queue.schedule(PROBE_MS, "liveness probe", self._probe)

    def members(self) -> list[SimNode]:
        """The running nodes of the committed configuration (those that must catch up)."""
        members = self._confs.members()
        return [node for node in self._cluster.nodes if node.id in members]

    def _applied_everywhere(self, index: int, term: int) -> bool:
        entry = self._committed.get(index)
        if entry is None or entry.term != term:
            return False
        return all(node.sm.index >= index for node in self.members())

    def describe(self) -> str:
        """Where each node stands, for the failure report."""
        parts = [f"{len(self._probes)} probes accepted"]
        for node in self._cluster.nodes:
            core = node.core
            state = "down"
            if core is not None:
                state = f"{core.role.name} t{core.term} last {core.last_index} "
                state += f"commit {core.commit_index}"
            parts.append(f"n{node.id} {state} applied {node.sm.index}")
        parts.append(f"committed config {self._confs.committed}")
        return "; ".join(parts)
