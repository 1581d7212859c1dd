"""RaftGroupActor: drives one RaftCore on the actors bus — ticks, Raft traffic and the Ready
pipeline (send, persist on the writer thread, apply; one write outstanding at a time)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog

from actors import Actor, Address, Context, UnknownPeer, handler
from raftoral.errors import (
    ConfChangeRejected,
    LeadershipTransferRejected,
    ProposalDropped,
    RaftoralError,
)
from raftoral.metrics import GroupMetrics
from raftoral.node import cluster_state, kv, membership
from raftoral.node.calls import ClientCalls
from raftoral.node.cluster_state import ClusterState, SetAddresses
from raftoral.node.compaction import CompactionPolicy
from raftoral.node.config import RaftTiming
from raftoral.node.kv import KvStateMachine
from raftoral.node.persist import WritableStorage, Writer, needs_write, prepare_ready
from raftoral.node.state_machine import CompositeStateMachine, StateMachine, encode_command
from raftoral.node.waiters import Proposals, Reads
from raftoral.raft.confchange import decode_conf_entry
from raftoral.raft.config import RaftConfig
from raftoral.raft.core import RaftCore
from raftoral.raft.types import (
    Entry,
    EntryKind,
    HardState,
    Message,
    Ready,
    Role,
    SoftState,
)
from raftoral.storage.log_mirror import WriteBatch
from raftoral.wire import ROUTER, ErrorCode, KvValue, MemberInfo, RaftBatch

log = structlog.get_logger("raftoral.node")

HOUSEKEEPING_TICKS = 10  # leader chores (promotion, address book) and gauges every N ticks


class Tick(msgspec.Struct, frozen=True):
    """The group's timer message (local only)."""


@dataclass(frozen=True)
class ClientCall:
    """A client request handed over by the router (local only): answer through `ctx`."""

    request: Any
    ctx: Context


@dataclass(frozen=True)
class LeaderUpdate:
    """Group -> router (local only): the leader of `cluster` is now `leader` (0: unknown)."""

    cluster: int
    leader: int


@dataclass(frozen=True)
class StepDown:
    """Node -> group at shutdown (local ask): hand leadership over; answered True once this node
    no longer leads (at once on a follower), False when `timeout` passed."""

    timeout: float


@dataclass(frozen=True)
class _StepDownTimeout:
    pass


@dataclass(frozen=True)
class _Crashed:
    """A write's completion failed outside a handler: fail in a handler, so supervision
    restarts the group."""

    error: Exception


class RaftGroupActor(Actor):
    """One Raft group (cluster) on this node. Spawned as `wire.group_actor(cluster)`."""

    mailbox_capacity = 65536

    def __init__(
        self,
        *,
        cluster: int,
        cluster_uid: str,
        listen: str,
        storage: WritableStorage,
        writer: Writer,
        timing: RaftTiming,
        metrics: GroupMetrics,
        router: str = ROUTER,
        services: Callable[[], Mapping[str, StateMachine]] | None = None,
    ) -> None:
        self.cluster = cluster
        self.cluster_uid = cluster_uid
        self.listen = listen
        self.storage = storage
        self.writer = writer
        self.timing = timing
        self.metrics = metrics
        self.router = router
        self.services = services  # more services ("workflow"), built at every (re)start
        self._generation = 0
        self._persisting = False
        self._write_idle: asyncio.Future[None] | None = None
        self.proposals = Proposals()
        self.reads = Reads()
        self.calls = ClientCalls(self)
        self._stepdown: Context | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def on_start(self) -> None:
        """(Re)build everything from durable storage: at spawn and after a failure restart."""
        self._generation += 1  # a write still outstanding completes into the storage only
        if self._persisting:
            self._write_idle = asyncio.get_running_loop().create_future()
            await self._write_idle
        self._fail_all(ErrorCode.RETRY, "the Raft group restarted; retry")
        self.kv, self.cluster_state = KvStateMachine(), ClusterState()
        extra = self.services() if self.services else {}
        self.machine = CompositeStateMachine(
            {kv.SERVICE: self.kv, cluster_state.SERVICE: self.cluster_state, **extra}
        )
        snap = self.storage.snapshot()
        self.machine.restore(snap.data)
        t = self.timing
        config = RaftConfig(
            node_id=self.bus.node_id,
            election_tick=t.election_tick,
            heartbeat_tick=t.heartbeat_tick,
            max_inflight_msgs=t.max_inflight_msgs,
            max_snapshot_chunk=t.max_snapshot_chunk,
        )
        self.core = RaftCore(config, self.storage, random.Random(), applied=snap.meta.index)
        self.applied = snap.meta.index
        self.compaction = CompactionPolicy(snap.meta.index, t.snapshot_entries, t.snapshot_bytes)
        self._hard_state: HardState | None = None  # a commit index not written yet
        self._failed: str | None = None
        self._leader = 0
        self._ticks = 0
        self._addresses_index = 0
        membership.sync_peers(self.bus, self.cluster_state.addresses)
        self.start_timer("tick", t.tick_interval, Tick(), repeat=True)
        self._drive()

    async def on_stop(self) -> None:
        self._fail_all(ErrorCode.STOPPING, f"node {self.bus.node_id} is shutting down; retry")

    # -- inputs ------------------------------------------------------------------------------

    @handler
    def on_tick(self, msg: Tick, ctx: Context) -> None:
        if self._failed:
            return
        self.core.tick()
        self._ticks += 1
        if self._ticks % HOUSEKEEPING_TICKS == 0:
            self._housekeeping()
        self._drive()

    @handler
    def on_batch(self, batch: RaftBatch, ctx: Context) -> None:
        if self._failed or batch.cluster != self.cluster:
            return
        step = self.core.step
        for message in batch.messages:
            try:
                step(message)
            except RaftoralError as exc:  # a bad or impossible peer message: drop it
                self.metrics.step_errors.inc()
                log.warning("raft message refused", sender=message.sender, error=exc.message)
        self._drive()

    @handler
    def on_call(self, call: ClientCall, ctx: Context) -> None:
        if self._failed:
            call.ctx.fail("storage_error", self._failed)
            return
        self.calls.by_type[type(call.request)](call.request, call.ctx)
        self._drive()

    @handler
    def on_crashed(self, msg: _Crashed, ctx: Context) -> None:
        raise msg.error

    @handler
    def on_step_down(self, msg: StepDown, ctx: Context) -> None:
        if self.core.role != Role.LEADER or self._failed:
            ctx.reply(True)
            return
        target = membership.best_transferee(self.core, self.bus.node_id)
        if not target:
            ctx.reply(True)  # nobody to hand over to
            return
        try:
            self.core.transfer_leadership(target)
        except LeadershipTransferRejected:
            ctx.reply(False)
            return
        self._stepdown = ctx
        self.start_timer("stepdown", msg.timeout, _StepDownTimeout())
        self._drive()

    @handler
    def on_step_down_timeout(self, msg: _StepDownTimeout, ctx: Context) -> None:
        if self._stepdown is not None:
            self._stepdown.reply(False)
            self._stepdown = None

    # -- the Ready pipeline ------------------------------------------------------------------

    def _drive(self) -> None:
        """Take Readies while none is being written: send, then persist on the writer thread
        (the rest follows when it is durable) or, with nothing to write, finish at once."""
        core = self.core
        while not self._persisting and core.has_ready():
            rd = core.ready()
            self._send(rd.messages)
            if rd.soft_state is not None:
                self._on_soft_state(rd.soft_state)
            if rd.snapshot_chunks:
                self.metrics.transfer_staging(rd.snapshot_chunks)
            if needs_write(rd):
                hard_state, self._hard_state = rd.hard_state or self._hard_state, None
                batch = prepare_ready(self.storage, rd, hard_state)
                self._write(batch, functools.partial(self._finish, rd))
                return
            if rd.hard_state is not None:  # the commit index only: written with the next write
                self._hard_state = rd.hard_state
            self._finish(rd)

    def _write(self, batch: WriteBatch, then: Callable[[], None]) -> None:
        """Write `batch` on the writer thread; then, on the loop, show it to reads and run
        `then` (unless the group restarted or stopped meanwhile) and drive on."""
        self._persisting = True
        generation, storage = self._generation, self.storage

        def done(error: BaseException | None) -> None:
            if error is None:
                storage.apply(batch)
            else:
                storage.discard(batch)
            self._persisting = False
            if generation != self._generation or self.name not in self.bus.actors:
                if self._write_idle is not None:
                    self._write_idle.set_result(None)
                    self._write_idle = None
                return
            if error is not None:
                self._storage_failed(error)
                return
            try:
                then()
                self._drive()
            except Exception as exc:
                self.try_send(self.address, _Crashed(exc))

        self.writer.submit(lambda: storage.write(batch), done)

    def _finish(self, rd: Ready) -> None:
        """Steps 4-7 of the Ready contract, once `rd` is durable."""
        self._send(rd.messages_after_persist)
        if rd.snapshot is not None:
            self._install_snapshot(rd.snapshot.meta.index)
            self.metrics.transfer_installed()
        if rd.committed_entries:
            self._apply(rd.committed_entries)
        self.reads.confirmed(rd.read_states)
        self.core.advance(rd)
        self.reads.serve(self.applied, self.answer_read)
        if self.compaction.due(self.applied) and not self._persisting:
            self._compact()

    def _send(self, messages: tuple[Message, ...]) -> None:
        if not messages:
            return
        by_peer: dict[int, list[Message]] = {}
        for message in messages:
            by_peer.setdefault(message.to, []).append(message)
        for to, batch in by_peer.items():
            try:
                self.try_send(Address(to, self.name), RaftBatch(self.cluster, tuple(batch)))
            except UnknownPeer:
                log.debug("no address for raft peer yet", peer=to)

    def _on_soft_state(self, ss: SoftState) -> None:
        if ss.leader != self._leader:
            if ss.leader:
                self.metrics.leader_changes.inc()
            if self._leader == self.bus.node_id:
                # uncommitted entries this node proposed as leader may never be filled in (the
                # next leader's log can stop short of them): answer now, not at the caller's
                # timeout; committed ones are answered when they apply
                self.proposals.fail_after(
                    self.core.commit_index,
                    ErrorCode.TIMEOUT,
                    f"node {self.bus.node_id} lost its leadership before the entry committed:"
                    " the outcome is unknown",
                )
            self._leader = ss.leader
            update = LeaderUpdate(self.cluster, ss.leader)
            self.try_send(Address(self.bus.node_id, self.router), update)
            self.reads.fail_pending(ErrorCode.RETRY, "leadership changed during the read; retry")
        if ss.role == Role.CANDIDATE:
            self.metrics.elections.inc()
        if ss.role != Role.LEADER and self._stepdown is not None:
            self.cancel_timer("stepdown")
            self._stepdown.reply(True)
            self._stepdown = None

    # -- applying ----------------------------------------------------------------------------

    def _apply(self, entries: tuple[Entry, ...]) -> None:
        """Apply committed entries in order and answer their proposers; metrics per batch."""
        book_changed = False
        latency = None
        for entry in entries:
            changed, waited = self._apply_one(entry)
            book_changed |= changed
            latency = latency if latency is not None else waited
        self.applied = entries[-1].index
        self.compaction.applied(entries)
        self.metrics.applied(len(entries), latency)
        if book_changed:
            membership.sync_peers(self.bus, self.cluster_state.addresses)

    def _apply_one(self, entry: Entry) -> tuple[bool, float | None]:
        """Apply one entry; (whether the address book changed, the proposer's latency)."""
        if entry.kind == EntryKind.CONF_CHANGE:
            self.cluster_state.apply_conf_change(decode_conf_entry(entry).change)
            return True, self.proposals.applied(entry, None, None)
        result: Any = None
        error: RaftoralError | None = None
        if entry.data:
            try:
                result = self.machine.apply(entry.index, entry.data)
            except RaftoralError as exc:  # deterministic: the same on every node
                log.warning("entry not applied", index=entry.index, error=exc.message)
                error = exc
        changed = bool(entry.data) and result is None and error is None
        return changed, self.proposals.applied(entry, result, error)

    def _install_snapshot(self, index: int) -> None:
        self.machine.restore(self.storage.snapshot().data)
        self.applied = index
        self.compaction.reset(index)
        self.proposals.replaced_by_snapshot(index)
        membership.sync_peers(self.bus, self.cluster_state.addresses)

    def answer_read(self, ctx: Context, key: str) -> None:
        value = self.kv.get(key)
        ctx.reply(KvValue(value is not None, value or b"", self.applied))

    def _compact(self) -> None:
        """Snapshot the state machine at the applied index and drop the log up to it (one
        write like a Ready's: the pipeline waits for it)."""
        index = self.applied
        conf = self.core.conf_at(index)
        batch = self.storage.prepare_compact(index, self.machine.snapshot(), conf)
        self._write(batch, lambda: self.compaction.reset(index))

    # -- membership and housekeeping ---------------------------------------------------------

    def members(self) -> tuple[MemberInfo, ...]:
        return membership.members(self.core, self._known_addresses(), self.bus.node_id)

    def _known_addresses(self) -> dict[int, str]:
        return membership.known_addresses(self.bus, self.cluster_state.addresses, self.listen)

    def _housekeeping(self) -> None:
        core = self.core
        self.metrics.indexes(core.term, core.role, core.commit_index, self.applied)
        self.metrics.snapshots(core.status().snapshots)
        if core.role != Role.LEADER:
            return
        self._complete_address_book()
        change = membership.promotion(core, self.timing.max_voters)
        if change is not None:
            try:
                core.propose_conf_change(change)
                log.info("promoting learner to voter", node=change.node_id)
            except ConfChangeRejected:
                pass  # a change is pending or the term is new: next round

    def _complete_address_book(self) -> None:
        """The leader records the addresses it knows of members missing from the book."""
        if self._addresses_index > self.applied:
            return  # the previous proposal is not applied yet
        book = self.cluster_state.addresses
        missing = membership.missing_addresses(self.core, book, self._known_addresses())
        if missing:
            command = cluster_state.encode(SetAddresses(missing))
            body = encode_command(cluster_state.SERVICE, command)
            with contextlib.suppress(ProposalDropped):
                self._addresses_index = self.core.propose(body)

    def _storage_failed(self, error: BaseException) -> None:
        self._failed = f"the raft log of cluster {self.cluster} failed: {error}; restart the node"
        log.error("raft storage failed; the group stops", cluster=self.cluster, exc_info=error)
        self.cancel_timer("tick")
        self._fail_all("storage_error", self._failed)

    def _fail_all(self, code: str, message: str) -> None:
        self.proposals.fail_all(code, message)
        self.reads.fail_all(code, message)
