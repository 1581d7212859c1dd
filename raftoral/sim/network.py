"""The simulated network between nodes: per-message loss, duplication, delay (and so reordering),
directed link blocks (symmetric and one-way partitions), and send buffers lost in a crash.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from raftoral.raft.types import Message, MsgType
from raftoral.sim.clock import EventQueue


@dataclass(frozen=True)
class LinkFaults:
    """How the network mistreats each message: probabilities and delays in virtual ms."""

    loss: float = 0.0
    dup: float = 0.0
    min_delay: int = 1
    max_delay: int = 3
    slow: float = 0.0  # probability of a long delay, which reorders the message
    slow_max: int = 0


def describe(msg: Message) -> str:
    """A short deterministic rendering of a message for the trace."""
    text = (
        f"{msg.type.name} {msg.sender}->{msg.to} t{msg.term} i{msg.index} "
        f"lt{msg.log_term} c{msg.commit} n{len(msg.entries)}"
    )
    if msg.type in (MsgType.SNAP, MsgType.SNAP_RESP):
        snap = msg.snapshot
        size, meta = (len(snap.data), snap.meta.index) if snap is not None else (0, msg.index)
        text += f" m{meta} o{msg.offset} b{size}" + (" done" if msg.done else "")
    return text + " rej" if msg.reject else text


class Network:
    """Delivers messages through the event queue, applying `faults` and the blocked links."""

    def __init__(
        self,
        queue: EventQueue,
        rng: random.Random,
        deliver: Callable[[Message], None],
        stats: Counter[str],
    ) -> None:
        self._queue = queue
        self._rng = rng
        self._deliver = deliver
        self._stats = stats
        self.faults = LinkFaults()
        self._blocked: set[tuple[int, int]] = set()
        self._epochs: dict[int, int] = {}  # node -> crashes so far; older messages are void

    def send(self, msg: Message) -> None:
        if self.is_blocked(msg.sender, msg.to):
            self._stats["msg_dropped_by_partition"] += 1
            return
        if self._rng.random() < self.faults.loss:
            self._stats["msg_lost"] += 1
            return
        copies = 1
        if self._rng.random() < self.faults.dup:
            self._stats["msg_duplicated"] += 1
            copies = 2
        label = "deliver " + describe(msg)
        epoch = self._epochs.get(msg.sender, 0)
        for _ in range(copies):
            self._queue.schedule(self._delay(), label, lambda: self._arrive(msg, epoch))

    def _delay(self) -> int:
        if self.faults.slow_max and self._rng.random() < self.faults.slow:
            self._stats["msg_delayed"] += 1
            return self._rng.randint(self.faults.max_delay, self.faults.slow_max)
        return self._rng.randint(self.faults.min_delay, self.faults.max_delay)

    def _arrive(self, msg: Message, epoch: int) -> None:
        if epoch != self._epochs.get(msg.sender, 0):
            self._stats["msg_lost_in_crash"] += 1
            return
        if self.is_blocked(msg.sender, msg.to):
            self._stats["msg_dropped_by_partition"] += 1
            return
        self._deliver(msg)

    def is_blocked(self, src: int, dst: int) -> bool:
        return (src, dst) in self._blocked

    def block(self, src: int, dst: int) -> None:
        self._blocked.add((src, dst))

    def crashed(self, node_id: int) -> None:
        """`node_id` crashed: the messages it sent that are still in flight are lost."""
        self._epochs[node_id] = self._epochs.get(node_id, 0) + 1

    def heal(self) -> None:
        self._blocked.clear()
