"""Fault profiles drawn per seed, and the nemesis that injects partitions and crashes.

When the chaos phase ends, `Nemesis.stop` heals partitions, restarts every node and calms links.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from raftoral.sim.clock import Action, EventQueue
from raftoral.sim.cluster import Cluster
from raftoral.sim.network import LinkFaults

CALM_LINKS = LinkFaults(min_delay=1, max_delay=3)


@dataclass(frozen=True)
class FaultProfile:
    """What goes wrong in one seed, and how the cores are tuned. Intervals are mean virtual ms
    between events; 0 turns that fault off."""

    links: LinkFaults
    partition_every: int
    crash_every: int
    propose_every: int
    max_outage: int  # longest partition or downtime, virtual ms
    fsync_max: int  # fsync delay is uniform in [1, fsync_max] virtual ms
    pre_vote: bool
    check_quorum: bool
    heartbeat_tick: int
    max_inflight_msgs: int
    max_size_per_msg: int
    # Raft core II (all off by default, so hand-made profiles opt in):
    compact_every: int = 0  # a random node compacts its log at its applied index
    snapshot_pad: int = 0  # extra bytes in state machine snapshots (more chunks per transfer)
    max_snapshot_chunk: int = 1 << 20
    snapshot_window: int = 4
    member_every: int = 0  # a membership change or leadership transfer
    read_every: int = 0  # a ReadIndex read on a random node


def draw_profile(rng: random.Random) -> FaultProfile:
    """A random mix of faults; every seed gets a different blend, some calm, some brutal."""
    max_delay = rng.choice((2, 5, 10))
    links = LinkFaults(
        loss=rng.choice((0.0, 0.01, 0.05, 0.15)),
        dup=rng.choice((0.0, 0.01, 0.05)),
        min_delay=1,
        max_delay=max_delay,
        slow=rng.choice((0.0, 0.02, 0.1)),
        slow_max=rng.choice((50, 200)),
    )
    return FaultProfile(
        links=links,
        partition_every=rng.choice((0, 150, 400, 1000)),
        crash_every=rng.choice((0, 150, 400, 1000)),
        propose_every=rng.choice((5, 20, 60)),
        max_outage=rng.choice((100, 300, 800)),
        fsync_max=rng.choice((1, 3, 8)),
        pre_vote=rng.random() < 0.7,
        check_quorum=rng.random() < 0.7,
        heartbeat_tick=rng.choice((1, 2, 3)),
        max_inflight_msgs=rng.choice((1, 4, 256)),
        max_size_per_msg=rng.choice((1, 64, 1 << 20)),
        compact_every=rng.choice((0, 30, 100, 400)),
        snapshot_pad=rng.choice((0, 300, 2000)),
        max_snapshot_chunk=rng.choice((16, 128, 1 << 20)),
        snapshot_window=rng.choice((1, 4)),
        member_every=rng.choice((0, 100, 300)),
        read_every=rng.choice((0, 10, 40)),
    )


class Nemesis:
    """Schedules partitions (isolation, majority/minority split, one-way) and crash/restart pairs.

    Only one partition is in force at a time; a newer one replaces the older.
    """

    def __init__(
        self,
        cluster: Cluster,
        queue: EventQueue,
        profile: FaultProfile,
        rng: random.Random,
        stats: Counter[str],
    ) -> None:
        self._cluster = cluster
        self._queue = queue
        self._profile = profile
        self._rng = rng
        self._stats = stats
        self._active = False
        self._partition_gen = 0

    def start(self) -> None:
        self._active = True
        self._cluster.network.faults = self._profile.links
        self._schedule("partition", self._profile.partition_every, self._partition)
        self._schedule("crash", self._profile.crash_every, self._crash)

    def stop(self) -> None:
        """End the chaos: heal links, restart every down node, make the network reliable."""
        self._active = False
        self._partition_gen += 1
        self._cluster.network.heal()
        self._cluster.network.faults = CALM_LINKS
        for node in self._cluster.nodes:
            if not node.up:
                self._cluster.restart(node.id)

    def _schedule(self, what: str, mean: int, action: Action) -> None:
        if mean and self._active:
            self._queue.schedule(self._rng.randint(1, 2 * mean), f"nemesis {what}", action)

    def _outage(self) -> int:
        return self._rng.randint(10, self._profile.max_outage)

    def _partition(self) -> None:
        if not self._active:
            return
        self._partition_gen += 1
        gen = self._partition_gen
        network = self._cluster.network
        network.heal()
        links = self._pick_links()
        for src, dst in links:
            network.block(src, dst)
        self._queue.schedule(self._outage(), f"heal partition {gen}", lambda: self._heal(gen))
        self._schedule("partition", self._profile.partition_every, self._partition)

    def _pick_links(self) -> list[tuple[int, int]]:
        """Directed links to cut: an isolated node, a split into two sides, or one-way cuts."""
        ids = self._cluster.ids()
        kind = self._rng.choice(("isolate", "split", "one_way"))
        self._stats[f"partition_{kind}"] += 1
        if kind == "one_way":
            pairs = [(a, b) for a in ids for b in ids if a != b]
            return self._rng.sample(pairs, self._rng.randint(1, len(pairs) // 2))
        if kind == "isolate":
            side = {self._pick_node(ids)}
        else:
            side = set(self._rng.sample(ids, self._rng.randint(1, len(ids) // 2)))
        return [(a, b) for a in ids for b in ids if (a in side) != (b in side)]

    def _pick_node(self, ids: list[int]) -> int:
        """Half the time the current leader (the most telling victim), else any of `ids`."""
        leader = self._cluster.leader()
        if leader is not None and leader.id in ids and self._rng.random() < 0.5:
            return leader.id
        return self._rng.choice(ids)

    def _pick_victim(self, up: list[int]) -> int:
        """A node receiving a snapshot a third of the time (a crash mid-transfer), else as
        _pick_node."""
        nodes = self._cluster.nodes
        receiving = [n.id for n in nodes if n.up and n.storage.staged_snapshot() is not None]
        if receiving and self._rng.random() < 0.33:
            return self._rng.choice(receiving)
        return self._pick_node(up)

    def _heal(self, gen: int) -> None:
        if gen == self._partition_gen:
            self._cluster.network.heal()

    def _crash(self) -> None:
        if not self._active:
            return
        up = [node.id for node in self._cluster.nodes if node.up]
        if up:
            victim = self._pick_victim(up)
            self._cluster.crash(victim)
            self._queue.schedule(
                self._outage(), f"restart n{victim}", lambda: self._restart(victim)
            )
        self._schedule("crash", self._profile.crash_every, self._crash)

    def _restart(self, node_id: int) -> None:
        cluster = self._cluster
        if self._active and cluster.has(node_id) and not cluster.node(node_id).up:
            self._cluster.restart(node_id)
