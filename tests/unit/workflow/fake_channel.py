"""A fake executor for WorkflowContext tests: one workflow on a real WorkflowStateMachine, with
proposals held in `pending` until the test commits them (or at once with `auto_commit`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from raftoral.workflow.commands import Checkpoint, WorkflowCommand, WorkflowStart
from raftoral.workflow.records import CommittedCheckpoint, WorkflowInfo
from raftoral.workflow.state_machine import WorkflowStateMachine

WID = "wf-1"


class FakeCluster:
    def __init__(self, *, auto_commit: bool = False) -> None:
        self.sm = WorkflowStateMachine()
        self.sm.apply_command(WorkflowStart(WID, "w", 1, b"\xc0", owner=1, started_at=0))
        self.pending: list[Checkpoint] = []
        self.auto_commit = auto_commit
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def info(self) -> WorkflowInfo:
        info = self.sm.describe(WID)
        assert info is not None
        return info

    def queue(self) -> list[CommittedCheckpoint]:
        return list(self.sm.checkpoints(WID))

    def propose(self, checkpoint: Checkpoint) -> None:
        self.pending.append(checkpoint)
        if self.auto_commit:
            self.commit()
        self._notify()

    def apply(self, command: WorkflowCommand) -> None:
        self.sm.apply_command(command)
        self._notify()

    def commit(self) -> None:
        """Apply every pending proposal in order (stale ones are ignored by the machine)."""
        pending, self.pending = self.pending, []
        for checkpoint in pending:
            self.apply(checkpoint)

    async def wait_until(self, ready: Callable[[], object]) -> None:
        while not ready():
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


class FakeChannel:
    """The CheckpointChannel of node `node`; its clock and random source are fixed values."""

    def __init__(self, cluster: FakeCluster, node: int, *, now_ms: int = 0, bits: int = 0):
        self.cluster = cluster
        self.node = node
        self._now_ms = now_ms
        self._bits = bits

    def epoch(self) -> int:
        return self.cluster.info.epoch

    async def next_committed(self, seq: int) -> CommittedCheckpoint | None:
        cluster = self.cluster
        await cluster.wait_until(
            lambda: seq < len(cluster.queue()) or cluster.info.owner == self.node
        )
        queue = cluster.queue()
        return queue[seq] if seq < len(queue) else None

    def propose(self, checkpoint: Checkpoint) -> None:
        self.cluster.propose(checkpoint)

    async def propose_and_wait(self, checkpoint: Checkpoint) -> CommittedCheckpoint:
        self.cluster.propose(checkpoint)
        await self.cluster.wait_until(lambda: len(self.cluster.queue()) > checkpoint.seq)
        return self.cluster.queue()[checkpoint.seq]

    def now_ms(self) -> int:
        return self._now_ms

    def random_bits(self) -> int:
        return self._bits
