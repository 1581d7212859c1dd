"""One simulated node: a RaftCore on a MemoryStorage, driven by the Ready contract on virtual time.

Persistence takes a random virtual fsync delay; a crash loses every write not yet synced.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from raftoral.raft.config import RaftConfig
from raftoral.raft.core import RaftCore
from raftoral.raft.types import ConfState, Entry, Message, Ready, Role
from raftoral.sim.clock import EventQueue
from raftoral.storage.memory import MemoryStorage

CoreFactory = Callable[[RaftConfig, MemoryStorage, random.Random, int], RaftCore]


class NodeObserver(Protocol):
    """Watches what a node persists and applies (the invariant checker)."""

    def on_write(self, node: SimNode, role: Role, term: int, entries: Sequence[Entry]) -> None:
        """Called before `entries` reach storage; `role`/`term` are as of the Ready."""

    def on_apply(self, node: SimNode, entry: Entry) -> None:
        """Called before `entry` is appended to the node's state machine."""


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


class SimNode:
    """Drives one core: ticks, delivers messages, proposes, and works through its Readies.

    `applied` is the volatile state machine (the applied entries, in order); it is rebuilt after a
    restart by re-applying the committed log. `incarnation` changes on every crash and restart, so
    events scheduled by an earlier incarnation (ticks, fsyncs) are ignored.
    """

    def __init__(self, config: RaftConfig, voters: tuple[int, ...], tick_ms: int, env: NodeEnv):
        self.id = config.node_id
        self.config = config
        self.storage = MemoryStorage()
        self.storage.bootstrap(ConfState(voters=voters))
        self.core: RaftCore | None = None
        self.applied: list[Entry] = []
        self.incarnation = 0
        self._tick_ms = tick_ms
        self._env = env
        self._syncing = False

    @property
    def up(self) -> bool:
        return self.core is not None

    def start(self, phase: int) -> None:
        """(Re)build the core from storage and start ticking after `phase` virtual ms."""
        self.incarnation += 1
        rng = random.Random(self._env.rng.getrandbits(64))
        self.core = self._env.core_factory(self.config, self.storage, rng, 0)
        self.applied = []
        self._syncing = False
        self._schedule_tick(phase)
        self._drain()

    def crash(self) -> None:
        """Stop at once: unsynced writes, the pending Ready and the state machine are lost."""
        self.incarnation += 1
        self.storage.crash()
        self.core = None
        self.applied = []

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
        if rd.entries:
            self._env.observer.on_write(self, role, term, rd.entries)
        if rd.entries or rd.hard_state is not None or rd.snapshot is not None:
            self.storage.save(rd.hard_state, rd.entries, rd.snapshot, sync=sync)
            self._env.stats["fsyncs" if sync else "unsynced_writes"] += 1

    def _finish(self, rd: Ready) -> None:
        """After persisting: send what promises state, apply, and hand the Ready back."""
        assert self.core is not None
        for msg in rd.messages_after_persist:
            self._env.send(msg)
        for entry in rd.committed_entries:
            self._env.observer.on_apply(self, entry)
            self.applied.append(entry)
        self.core.advance(rd)
