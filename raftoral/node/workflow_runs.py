"""`LocalRun`: one workflow as this node runs it — the committed steps applied here, whether this
node owns it, and the CheckpointChannel its body's WorkflowContext talks to."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from typing import Final, Protocol

import structlog

from actors import ActorsError
from raftoral.errors import RaftoralError
from raftoral.wire import WorkflowProposed
from raftoral.workflow.commands import Checkpoint, WorkflowCommand, WorkflowEnd
from raftoral.workflow.records import CommittedCheckpoint

log = structlog.get_logger("raftoral.workflow")

RETRY_DELAY: Final = 0.05  # seconds before a proposal that did not reach the leader is resent
_random = random.SystemRandom()


def now_ms() -> int:
    """This node's wall clock in ms since the epoch (proposers stamp starts and ends with it)."""
    return time.time_ns() // 1_000_000


class Proposer(Protocol):
    """The executor's side: proposals through the leader, and this node's applied index."""

    def send_proposal(self, command: WorkflowCommand) -> asyncio.Future[WorkflowProposed]:
        """Propose now (proposals leave in call order); the future is the apply result."""
        ...

    async def until_applied(self, index: int) -> None: ...


class LocalRun:
    """A run's local state, fed by the executor as entries apply; it is the body's channel."""

    def __init__(
        self,
        workflow_id: str,
        epoch: int,
        owned: bool,
        committed: Sequence[CommittedCheckpoint],
        proposer: Proposer,
    ) -> None:
        self.workflow_id = workflow_id
        self.owned = owned
        self.committed = list(committed)
        self.finished = False
        self._epoch = epoch
        self._proposer = proposer
        self._wakers: list[asyncio.Future[None]] = []
        self._pending: dict[int, Checkpoint] = {}  # proposed here, not committed yet
        self._flushing: asyncio.Future[None] | None = None

    # -- fed by the executor -----------------------------------------------------------------

    def accepted(self, checkpoint: CommittedCheckpoint) -> None:
        if checkpoint.seq == len(self.committed):
            self.committed.append(checkpoint)
            self._pending.pop(checkpoint.seq, None)
            self._wake()

    def catch_up(self, steps: Sequence[CommittedCheckpoint]) -> None:
        """A restored state machine's queue: taken when it is ahead of the local copy."""
        if len(steps) > len(self.committed):
            self.committed = list(steps)
            self._prune()
            self._wake()

    def owner_changed(self, owned: bool, epoch: int) -> None:
        self.owned, self._epoch = owned, epoch
        self._wake()

    def end(self) -> None:
        """The run ended (or this node stops): nothing more is proposed or awaited."""
        self.finished = True
        self._wake()

    # -- CheckpointChannel -------------------------------------------------------------------

    def epoch(self) -> int:
        return self._epoch

    async def next_committed(self, seq: int) -> CommittedCheckpoint | None:
        while seq >= len(self.committed):
            self._check_open(seq)
            if self.owned:
                return None
            await self._wait()
        return self.committed[seq]

    def propose(self, checkpoint: Checkpoint) -> None:
        self._pending[checkpoint.seq] = checkpoint
        self._proposer.send_proposal(checkpoint).add_done_callback(self._after_pipelined)

    async def propose_and_wait(self, checkpoint: Checkpoint) -> CommittedCheckpoint:
        seq = checkpoint.seq
        self._pending[seq] = checkpoint
        while seq >= len(self.committed):
            self._check_open(seq)
            reply = await self._submit(checkpoint)
            if reply is None or seq < len(self.committed):
                continue
            if reply.message == "sequence_gap":  # an earlier pipelined step was lost
                await self._flush()
            elif reply.outcome == "ignored":
                raise RaftoralError(
                    f"step {seq} of workflow {self.workflow_id!r} was not recorded"
                    f" ({reply.message}): the run moved to another owner or ended",
                    code="step_not_recorded",
                )
        return self.committed[seq]

    def now_ms(self) -> int:
        return now_ms()

    def random_bits(self) -> int:
        return _random.getrandbits(64)

    # -- the owner's end ---------------------------------------------------------------------

    async def propose_end(self, end: WorkflowEnd) -> None:
        """Propose the end until it (or another end) applied here, or ownership moved."""
        while self._pending and self.owned and not self.finished:  # every step before the end
            await (self._flushing if self._flushing is not None else self._wait())
        while not self.finished and self.owned and end.epoch == self._epoch:
            reply = await self._submit(end)
            if reply is not None and reply.outcome == "ignored":
                log.warning("workflow end ignored", workflow=self.workflow_id, reason=reply.message)
                return

    async def _submit(self, command: WorkflowCommand) -> WorkflowProposed | None:
        """Propose and wait until the entry applied here; None (after a pause) when the
        proposal did not get through (no leader yet, leader changed)."""
        try:
            reply = await self._proposer.send_proposal(command)
        except ActorsError as exc:
            log.info("workflow proposal retried", workflow=self.workflow_id, error=str(exc))
            await asyncio.sleep(RETRY_DELAY)
            return None
        await self._proposer.until_applied(reply.index)
        return reply

    # -- lost pipelined steps ----------------------------------------------------------------

    def _after_pipelined(self, sent: asyncio.Future[WorkflowProposed]) -> None:
        """A pipelined step that did not get through (leader change) or came after a lost
        one (sequence_gap) starts a flush."""
        if sent.cancelled():
            return
        error = sent.exception()
        if error is not None or sent.result().message == "sequence_gap":
            log.info("pipelined workflow steps resent", workflow=self.workflow_id, error=str(error))
            self._flush()

    def _flush(self) -> asyncio.Future[None]:
        """Resend, in order, every step proposed here and not committed (at most one flush runs;
        duplicates are ignored at apply), until they are committed or the run moved or ended."""
        if self._flushing is None:
            self._flushing = asyncio.ensure_future(self._resend())
        return self._flushing

    async def _resend(self) -> None:
        try:
            while True:
                self._prune()
                if not self._pending or not self.owned or self.finished:
                    return
                await asyncio.sleep(RETRY_DELAY)
                sends = [
                    self._proposer.send_proposal(step) for _, step in sorted(self._pending.items())
                ]
                replies = await asyncio.gather(*sends, return_exceptions=True)
                applied = [r.index for r in replies if isinstance(r, WorkflowProposed)]
                if applied:
                    await self._proposer.until_applied(max(applied))
        finally:
            self._flushing = None
            self._wake()

    def _prune(self) -> None:
        """Forget pending steps that are committed."""
        for seq in [seq for seq in self._pending if seq < len(self.committed)]:
            del self._pending[seq]

    def _check_open(self, seq: int) -> None:
        if self.finished:
            raise RaftoralError(
                f"workflow {self.workflow_id!r} ended before this node's body reached step {seq}",
                code="run_ended",
            )

    async def _wait(self) -> None:
        waker = asyncio.get_running_loop().create_future()
        self._wakers.append(waker)
        await waker

    def _wake(self) -> None:
        wakers, self._wakers = self._wakers, []
        for waker in wakers:
            if not waker.done():
                waker.set_result(None)
