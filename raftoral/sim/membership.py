"""Membership changes and leadership transfers in the fault mix, and retiring removed nodes.

An operator acts on the current leader: add a node (learner or voter), promote, remove, transfer.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

from raftoral.errors import ConfChangeRejected, LeadershipTransferRejected
from raftoral.raft.types import ConfChange, ConfChangeType
from raftoral.sim.clock import EventQueue
from raftoral.sim.cluster import Cluster
from raftoral.sim.conf_watch import ConfWatch
from raftoral.sim.node import SimNode
from raftoral.sim.periodic import Periodic

JANITOR_MS = 50  # how often removed nodes are looked for
LINGER_MS = (20, 400)  # a removed node keeps running this long (it must not disrupt), then stops
MIN_VOTERS = 2  # never remove below this many voters


class Reconfigurer(Periodic):
    """Every ~`every` ms one action on the leader's configuration; always, retire the nodes a
    committed configuration dropped (after they linger)."""

    label = "nemesis membership"

    def __init__(
        self,
        cluster: Cluster,
        queue: EventQueue,
        rng: random.Random,
        confs: ConfWatch,
        stats: Counter[str],
        max_members: int,
    ) -> None:
        super().__init__(queue, rng)
        self._cluster = cluster
        self._confs = confs
        self._stats = stats
        self._max_members = max_members
        self._retiring: set[int] = set()

    def start(self, every: int) -> None:
        """Changes every ~`every` ms until stop(); retiring removed nodes goes on after it."""
        super().start(every)
        self._queue.schedule(JANITOR_MS, "janitor", self._janitor)

    def act(self) -> None:
        leader = self._cluster.leader()
        if leader is not None:
            action = self._rng.choice(self._actions(leader))
            action(leader)
            if self._rng.random() < 0.2:  # a second change at once (rejected while one pends)
                self._add_learner(leader)

    def _actions(self, leader: SimNode) -> list[Callable[[SimNode], None]]:
        assert leader.core is not None
        conf = leader.core.conf
        actions: list[Callable[[SimNode], None]] = [self._transfer]
        if len(conf.voters) + len(conf.learners) < self._max_members:
            actions += [self._add_learner, self._add_learner, self._add_voter]
        if conf.learners:
            actions += [self._promote, self._promote, self._remove_learner]
        if len(conf.voters) > MIN_VOTERS:
            actions += [self._remove_follower, self._remove_leader]
        return actions

    def _change(self, leader: SimNode, kind: ConfChangeType, node_id: int, what: str) -> bool:
        try:
            leader.propose_conf_change(ConfChange(kind, node_id))
        except ConfChangeRejected:
            self._stats["conf_rejected"] += 1
            return False
        self._stats[f"conf_{what}"] += 1
        return True

    def _add_learner(self, leader: SimNode) -> None:
        if self._change(leader, ConfChangeType.ADD_LEARNER, self._cluster.next_id, "add_learner"):
            self._cluster.join()

    def _add_voter(self, leader: SimNode) -> None:
        if self._change(leader, ConfChangeType.ADD_VOTER, self._cluster.next_id, "add_voter"):
            self._cluster.join()

    def _promote(self, leader: SimNode) -> None:
        """Promote a learner (one that has caught up with the leader's commit, if any)."""
        assert leader.core is not None
        status = leader.core.status()
        learners = list(leader.core.conf.learners)
        progress = status.progress
        caught_up = [i for i in learners if i in progress and progress[i].match >= status.commit]
        target = self._rng.choice(caught_up or learners)
        self._change(leader, ConfChangeType.ADD_VOTER, target, "promote")

    def _remove_learner(self, leader: SimNode) -> None:
        assert leader.core is not None
        target = self._rng.choice(leader.core.conf.learners)
        self._change(leader, ConfChangeType.REMOVE_NODE, target, "remove_learner")

    def _remove_follower(self, leader: SimNode) -> None:
        assert leader.core is not None
        target = self._rng.choice([i for i in leader.core.conf.voters if i != leader.id])
        self._change(leader, ConfChangeType.REMOVE_NODE, target, "remove_follower")

    def _remove_leader(self, leader: SimNode) -> None:
        self._change(leader, ConfChangeType.REMOVE_NODE, leader.id, "remove_leader")

    def _transfer(self, leader: SimNode) -> None:
        assert leader.core is not None
        others = [i for i in leader.core.conf.voters if i != leader.id]
        if not others:
            return
        try:
            leader.transfer_leadership(self._rng.choice(others))
        except LeadershipTransferRejected:
            self._stats["transfer_rejected"] += 1
            return
        self._stats["transfers"] += 1

    def _janitor(self) -> None:
        """Schedule the retirement of running nodes that a committed configuration removed."""
        members = self._confs.members()
        for node_id in self._cluster.ids():
            removed = node_id in self._confs.members_ever and node_id not in members
            if removed and node_id not in self._retiring:
                self._retiring.add(node_id)
                linger = self._rng.randint(*LINGER_MS)
                self._queue.schedule(linger, f"retire n{node_id}", self._retire(node_id))
        self._queue.schedule(JANITOR_MS, "janitor", self._janitor)

    def _retire(self, node_id: int) -> Callable[[], None]:
        return lambda: self._cluster.retire(node_id)
