"""A simulated actor that acts every ~`every` virtual ms (uniformly in [1, 2 * every]) between
start() and stop(); compaction, reads and membership changes are its kinds."""

from __future__ import annotations

import random

from raftoral.sim.clock import EventQueue


class Periodic:
    """Subclasses set `label` and implement `act()`; `every` 0 means never."""

    label = "periodic"

    def __init__(self, queue: EventQueue, rng: random.Random) -> None:
        self._queue = queue
        self._rng = rng
        self._every = 0

    def start(self, every: int) -> None:
        self._every = every
        self._schedule()

    def stop(self) -> None:
        self._every = 0

    def act(self) -> None:
        raise NotImplementedError

    def _schedule(self) -> None:
        if self._every:
            delay = self._rng.randint(1, 2 * self._every)
            self._queue.schedule(delay, self.label, self._fire)

    def _fire(self) -> None:
        if self._every:
            self.act()
            self._schedule()
