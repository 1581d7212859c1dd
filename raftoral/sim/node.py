"""One simulated node: a RaftCore on a MemoryStorage, driven by the Ready contract on virtual time.

Persistence takes a random virtual fsync delay; a crash loses every write not yet synced.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from raftoral.errors import CompactedError
from raftoral.raft.config import RaftConfig
from raftoral.raft.core import RaftCore
from raftoral.raft.types import (
    ConfChange,
    ConfState,
    Entry,
    Message,
    ReadState,
    Ready,
    Role,
    SnapshotMeta,
)
from raftoral.sim.clock import EventQueue
from raftoral.sim.state_machine import SimStateMachine
from raftoral.storage.memory import MemoryStorage

CoreFactory = Callable[[RaftConfig, MemoryStorage, random.Random, int], RaftCore]


class NodeObserver(Protocol):
    """Watches what a node persists, applies, restores and reads (the invariant checker)."""

    def on_write(
        self,
        node: SimNode,
        role: Role,
        term: int,
        entries: Sequence[Entry],
        snapshot: SnapshotMeta | None,
    ) -> None:
        """Called before `entries` (after `snapshot`, if any) reach storage; `role`/`term` are
        as of the Ready."""

    def on_apply(self, node: SimNode, entry: Entry) -> None:
        """Called before `entry` is applied to the node's state machine."""

    def on_restore(self, node: SimNode, meta: SnapshotMeta) -> None:
        """The node (re)built its state machine from its storage's snapshot `meta` (at start, or
        installing a snapshot from the leader)."""

    def on_read(self, node: SimNode, context: bytes, index: int) -> None:
        """The node served the ReadIndex read `context` with its state at applied `index`."""


@dataclass
class NodeEnv:
    """What a node needs from its surroundings."""

    queue: EventQueue
    send: Callable[[Message], None]
    observer: NodeObserver
    core_factory: CoreFactory
    rng: random.Random  # fsync delays and the cores' own random streams
    fsync_max: int
    stats: Counter[str]
    snapshot_pad: int = 0  # bytes of padding in state machine snapshots


class SimNode:
    """Drives one core: ticks, delivers messages, proposes, reads, compacts, and works through
    its Readies.

    `sm` is the volatile state machine; after a restart it is restored from the storage's
    snapshot and the core hands out the committed log after it again. `incarnation` changes on
    every crash and restart, so events scheduled by an earlier incarnation are ignored. A node
    created with `voters=None` joins with an empty storage (no configuration).
    """

    def __init__(
        self, config: RaftConfig, voters: tuple[int, ...] | None, tick_ms: int, env: NodeEnv
    ):
        self.id = config.node_id
        self.config = config
        self.storage = MemoryStorage()
        if voters:
            self.storage.bootstrap(ConfState(voters=voters))
        self.core: RaftCore | None = None
        self.sm = SimStateMachine()
        self.conf = self.storage.snapshot_meta().conf
        self.incarnation = 0
        self._tick_ms = tick_ms
        self._env = env
        self._syncing = False
        self._reads: list[ReadState] = []  # confirmed reads waiting for the state machine

    @property
    def up(self) -> bool:
        return self.core is not None

    def start(self, phase: int) -> None:
        """(Re)build the state machine and the core from storage; tick after `phase` ms."""
        self.incarnation += 1
        if self.storage.staged_snapshot() is not None:
            self._env.stats["restarts_mid_transfer"] += 1  # the transfer resumes
        snapshot = self.storage.snapshot()
        self.sm = SimStateMachine.restore(snapshot.data)
        self._env.observer.on_restore(self, snapshot.meta)
        rng = random.Random(self._env.rng.getrandbits(64))
        self.core = self._env.core_factory(self.config, self.storage, rng, self.sm.index)
        self.conf = self.core.conf
        self._syncing = False
        self._reads = []
        self._schedule_tick(phase)
        self._drain()

    def crash(self) -> None:
        """Stop at once: unsynced writes, the pending Ready, the state machine and the reads
        waiting for it are lost."""
        self.incarnation += 1
        self.storage.crash()
        self.core = None
        self.sm = SimStateMachine()
        self._reads = []

    def receive(self, msg: Message) -> None:
        if self.core is None:
            self._env.stats["msg_to_down_node"] += 1
            return
        self.core.step(msg)
        self._drain()

    def propose(self, data: bytes) -> tuple[int, int]:
        """Propose on this node's core; (index, term) of the new entry. Raises ProposalDropped."""
        assert self.core is not None
        index = self.core.propose(data)
        term = self.core.term
        self._drain()
        return index, term

    def propose_conf_change(self, change: ConfChange) -> int:
        """Propose a membership change; its index. Raises ConfChangeRejected."""
        assert self.core is not None
        index = self.core.propose_conf_change(change)
        self._drain()
        return index

    def transfer_leadership(self, target: int) -> None:
        """Raises LeadershipTransferRejected."""
        assert self.core is not None
        self.core.transfer_leadership(target)
        self._drain()

    def read_index(self, context: bytes) -> None:
        """Start a ReadIndex read. Raises ReadIndexDropped."""
        assert self.core is not None
        self.core.read_index(context)
        self._drain()

    def compact(self) -> bool:
        """Snapshot the state machine and compact the log at the applied index (False if there
        is nothing new to compact or a snapshot install is pending in the core)."""
        assert self.core is not None
        index = self.sm.index
        if index <= self.storage.snapshot_meta().index:
            return False
        try:
            conf = self.core.conf_at(index)
        except CompactedError:
            return False
        self.storage.compact(index, self.sm.snapshot(self._env.snapshot_pad), conf)
        return True

    def log_term(self, index: int) -> int:
        """Term of the entry at `index` in the core's log (0 if absent); the node must be up."""
        assert self.core is not None
        return self.core.log_term(index)

    def _schedule_tick(self, delay: int) -> None:
        incarnation = self.incarnation
        self._env.queue.schedule(delay, f"tick n{self.id}", lambda: self._tick(incarnation))

    def _tick(self, incarnation: int) -> None:
        if incarnation != self.incarnation or self.core is None:
            return
        self.core.tick()
        self._drain()
        self._schedule_tick(self._tick_ms)

    def _drain(self) -> None:
        """Work through Readies until none is left or one waits for its fsync."""
        while self.core is not None and not self._syncing and self.core.has_ready():
            self._handle(self.core.ready())

    def _handle(self, rd: Ready) -> None:
        assert self.core is not None
        for msg in rd.messages:
            self._env.send(msg)
        role, term = self.core.role, self.core.term
        if rd.must_sync:
            self._syncing = True
            incarnation = self.incarnation
            delay = self._env.rng.randint(1, self._env.fsync_max)
            self._env.queue.schedule(
                delay, f"fsync n{self.id}", lambda: self._synced(rd, role, term, incarnation)
            )
            return
        self._persist(rd, role, term, sync=False)
        self._finish(rd)

    def _synced(self, rd: Ready, role: Role, term: int, incarnation: int) -> None:
        if incarnation != self.incarnation:
            return
        self._persist(rd, role, term, sync=True)
        self._syncing = False
        self._finish(rd)
        self._drain()

    def _persist(self, rd: Ready, role: Role, term: int, *, sync: bool) -> None:
        stats = self._env.stats
        for chunk in rd.snapshot_chunks:
            self.storage.stage_snapshot_chunk(chunk)
            stats["snapshot_chunks_staged"] += 1
        meta = None if rd.snapshot is None else rd.snapshot.meta
        if rd.entries:
            self._env.observer.on_write(self, role, term, rd.entries, meta)
        if rd.entries or rd.hard_state is not None or rd.snapshot is not None:
            self.storage.save(rd.hard_state, rd.entries, rd.snapshot, sync=sync)
            stats["fsyncs" if sync else "unsynced_writes"] += 1

    def _finish(self, rd: Ready) -> None:
        """After persisting: send what promises state, install, apply, serve reads, advance."""
        assert self.core is not None
        for msg in rd.messages_after_persist:
            self._env.send(msg)
        if rd.snapshot is not None:
            self._env.stats["snapshots_installed"] += 1
            self.sm = SimStateMachine.restore(self.storage.snapshot().data)
            self._env.observer.on_restore(self, rd.snapshot.meta)
        for entry in rd.committed_entries:
            self._env.observer.on_apply(self, entry)
            self.sm.apply(entry)
        if rd.conf_state is not None:
            self.conf = rd.conf_state
        self._reads.extend(rd.read_states)
        self._serve_reads()
        self.core.advance(rd)

    def _serve_reads(self) -> None:
        """Answer the confirmed reads whose index the state machine has reached."""
        if not self._reads:
            return
        ready = [read for read in self._reads if read.index <= self.sm.index]
        self._reads = [read for read in self._reads if read.index > self.sm.index]
        for read in ready:
            self._env.observer.on_read(self, read.context, self.sm.index)
