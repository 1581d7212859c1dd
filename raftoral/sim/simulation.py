"""One seeded run: chaos for a number of steps, then healing, liveness and the final checks.

Everything random comes from streams derived from the seed; `run_seed` is the entry point.
"""

from __future__ import annotations

import random
import traceback
from collections import Counter
from dataclasses import dataclass, field

from raftoral.raft.config import RaftConfig
from raftoral.raft.core import RaftCore
from raftoral.raft.types import ConfState
from raftoral.sim.client import Client
from raftoral.sim.clock import Action, EventQueue
from raftoral.sim.cluster import Cluster
from raftoral.sim.compaction import Compactor
from raftoral.sim.faults import FaultProfile, Nemesis, draw_profile
from raftoral.sim.invariants import Checker, InvariantViolation, Violation
from raftoral.sim.liveness import LivenessProbe
from raftoral.sim.membership import Reconfigurer
from raftoral.sim.node import CoreFactory
from raftoral.sim.reads import Reader
from raftoral.sim.trace import Sink, Trace

# After healing, a fresh proposal must be applied on every node within LIVENESS_MS plus
# BACKLOG_MS per entry that some node still has to catch up on (replication may be throttled to
# one entry per round trip by max_size_per_msg and max_inflight_msgs).
LIVENESS_MS = 3_000
BACKLOG_MS = 20
FAULT_STATS = (
    "msg_lost",
    "msg_duplicated",
    "msg_delayed",
    "msg_dropped_by_partition",
    "partition_isolate",
    "partition_split",
    "partition_one_way",
    "crashes",
    "crashes_mid_transfer",
)
# Raft core II actions in the mix (reported beside the faults).
ACTION_STATS = (
    "compactions",
    "snapshots_installed",
    "snapshot_chunks_staged",
    "restarts_mid_transfer",
    "conf_add_learner",
    "conf_add_voter",
    "conf_promote",
    "conf_remove_learner",
    "conf_remove_follower",
    "conf_remove_leader",
    "conf_rejected",
    "nodes_retired",
    "transfers",
    "reads_invoked",
    "reads_served",
)


@dataclass
class SimResult:
    """The outcome of one seed."""

    seed: int
    nodes: int
    steps: int
    violation: Violation | None
    events: int
    virtual_ms: int
    checks: int
    digest: str
    stats: dict[str, int] = field(default_factory=dict)
    recent: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.violation is None

    @property
    def faults(self) -> int:
        return sum(self.stats.get(name, 0) for name in FAULT_STATS)

    def replay_command(self) -> str:
        return (
            f"python -m raftoral.sim --seeds {self.seed} --nodes {self.nodes} "
            f"--steps {self.steps} -v"
        )

    def report(self) -> str:
        """A failure report: the seed, the invariant and details, recent events, how to replay."""
        if self.violation is None:
            return f"seed {self.seed}: ok"
        lines = [
            f"seed {self.seed}: invariant {self.violation.invariant} violated "
            f"at virtual time {self.virtual_ms} ms (event {self.events})",
            self.violation.detail,
            f"last {len(self.recent)} events:",
            *(f"  {line}" for line in self.recent),
            f"replay: {self.replay_command()}",
        ]
        return "\n".join(lines)


def run_seed(
    seed: int,
    *,
    nodes: int = 3,
    steps: int = 2000,
    core_factory: CoreFactory = RaftCore,
    profile: FaultProfile | None = None,
    sink: Sink | None = None,
) -> SimResult:
    """Simulate one seed. `core_factory` builds each core (plant bugs with a subclass);
    `profile` overrides the drawn faults; `sink` receives every trace line."""
    return Simulation(seed, nodes, steps, core_factory, profile, sink).run()


class Simulation:
    """Wires clock, network, nodes, nemesis, client and checker for one seed."""

    def __init__(
        self,
        seed: int,
        nodes: int,
        steps: int,
        core_factory: CoreFactory,
        profile: FaultProfile | None,
        sink: Sink | None,
    ) -> None:
        master = random.Random(seed)
        streams = [random.Random(master.getrandbits(64)) for _ in range(8)]
        profile_rng, net_rng, node_rng, nemesis_rng, client_rng = streams[:5]
        compact_rng, member_rng, read_rng = streams[5:]
        self.seed, self.steps, self.size = seed, steps, nodes
        self.profile = profile or draw_profile(profile_rng)
        self.queue = EventQueue()
        self.stats: Counter[str] = Counter()
        self.trace = Trace(sink=sink)
        self.checker = Checker(ConfState(voters=tuple(range(1, nodes + 1))))
        self.cluster = Cluster(
            nodes,
            self._config,
            self.queue,
            observer=self.checker,
            core_factory=core_factory,
            node_rng=node_rng,
            net_rng=net_rng,
            fsync_max=self.profile.fsync_max,
            snapshot_pad=self.profile.snapshot_pad,
            stats=self.stats,
        )
        queue, stats, cluster = self.queue, self.stats, self.cluster
        self.nemesis = Nemesis(cluster, queue, self.profile, nemesis_rng, stats)
        self.client = Client(cluster, queue, client_rng, self.checker, stats)
        self.compactor = Compactor(cluster, queue, compact_rng, stats)
        confs = self.checker.confs
        self.members = Reconfigurer(cluster, queue, member_rng, confs, stats, nodes + 2)
        self.reader = Reader(cluster, queue, read_rng, self.checker.reads, stats)

    def _config(self, node_id: int) -> RaftConfig:
        p = self.profile
        return RaftConfig(
            node_id=node_id,
            heartbeat_tick=p.heartbeat_tick,
            pre_vote=p.pre_vote,
            check_quorum=p.check_quorum,
            max_inflight_msgs=p.max_inflight_msgs,
            max_size_per_msg=p.max_size_per_msg,
            max_snapshot_chunk=p.max_snapshot_chunk,
            snapshot_window=p.snapshot_window,
        )

    def run(self) -> SimResult:
        violation = None
        try:
            self._guarded(self.cluster.start)
            self._start_chaos()
            for _ in range(self.steps):
                self._step()
            self._stop_chaos()
            probe = self._await_liveness()
            self.checker.check_final(probe.members())
        except InvariantViolation as exc:
            violation = exc.violation
        return self._result(violation)

    def _start_chaos(self) -> None:
        p = self.profile
        self.nemesis.start()
        self.client.start(p.propose_every)
        self.compactor.start(p.compact_every)
        self.members.start(p.member_every)
        self.reader.start(p.read_every)

    def _stop_chaos(self) -> None:
        self.nemesis.stop()
        self.client.stop()
        self.compactor.stop()
        self.members.stop()
        self.reader.stop()

    def _step(self) -> None:
        event = self.queue.pop()
        assert event is not None, "ticks never stop, so the queue is never empty"
        self.trace.record(event.time, event.label)
        self._guarded(event.action)

    def _guarded(self, action: Action) -> None:
        """Run an action, then the per-step checks; a crash of the core is a violation too."""
        try:
            action()
        except InvariantViolation:
            raise
        except Exception as exc:
            detail = "".join(traceback.format_exception(exc, limit=-4)).rstrip()
            raise InvariantViolation("core_exception", detail) from exc
        self.checker.check(self.cluster.nodes)

    def _await_liveness(self) -> LivenessProbe:
        """After healing, a leader must emerge and a fresh proposal be applied on every member
        of the committed configuration."""
        bound = LIVENESS_MS + BACKLOG_MS * self._backlog()
        deadline = self.queue.now + bound
        confs, committed = self.checker.confs, self.checker.committed
        probe = LivenessProbe(self.cluster, self.queue, self.stats, confs, committed)
        probe.start()
        while not probe.done:
            if self.queue.now > deadline:
                raise InvariantViolation(
                    "liveness",
                    f"no proposal was applied on every node within {bound} virtual ms "
                    f"of healing; {probe.describe()}",
                )
            self._step()
        return probe

    def _backlog(self) -> int:
        """Entries between the lowest applied index and the longest log."""
        longest = max(node.storage.last_index() for node in self.cluster.nodes)
        return longest - min(node.sm.index for node in self.cluster.nodes)

    def _result(self, violation: Violation | None) -> SimResult:
        return SimResult(
            seed=self.seed,
            nodes=self.size,
            steps=self.steps,
            violation=violation,
            events=self.trace.count,
            virtual_ms=self.queue.now,
            checks=self.checker.checks,
            digest=self.trace.digest(),
            stats={**dict(sorted(self.stats.items())), "reads_served": self.checker.reads.served},
            recent=list(self.trace.recent),
        )
