"""RaftGroupActor: drives one RaftCore on the actors bus — ticks, Raft traffic, the persist/send/
apply pipeline (one Ready outstanding, written on the writer thread), client calls and acks."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import structlog

from actors import Actor, Address, Context, UnknownPeer, handler
from raftoral.errors import (
    ConfChangeRejected,
    LeadershipTransferRejected,
    ProposalDropped,
    RaftoralError,
    ReadIndexDropped,
)
from raftoral.metrics import GroupMetrics
from raftoral.node import cluster_state, kv
from raftoral.node.cluster_state import AllocateId, ClusterState, SetAddresses
from raftoral.node.config import RaftTiming
from raftoral.node.kv import KvStateMachine
from raftoral.node.persist import LockedStorage, Writer, needs_write, write_ready
from raftoral.node.state_machine import CompositeStateMachine, encode_command
from raftoral.raft.confchange import apply_change, decode_conf_entry
from raftoral.raft.config import RaftConfig
from raftoral.raft.core import RaftCore
from raftoral.raft.types import (
    ConfChange,
    ConfChangeType,
    Entry,
    EntryKind,
    Message,
    Ready,
    Role,
    SnapshotMeta,
    SoftState,
)
from raftoral.wire import (
    ROUTER,
    Ack,
    AllocateNodeId,
    ClusterInfo,
    ClusterInfoRequest,
    ErrorCode,
    JoinCluster,
    Joined,
    KvDelete,
    KvGet,
    KvPut,
    KvValue,
    KvWritten,
    MemberInfo,
    NodeIdAllocated,
    RaftBatch,
    RemoveNode,
    TransferLeadership,
)

log = structlog.get_logger("raftoral.node")

HOUSEKEEPING_TICKS = 10  # leader chores (promotion, address book) and gauges every N ticks
_ROLE_NAMES = {
    Role.LEADER: "leader",
    Role.FOLLOWER: "follower",
    Role.CANDIDATE: "candidate",
    Role.PRE_CANDIDATE: "pre_candidate",
}


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
class _Written:
    generation: int
    rd: Ready
    error: BaseException | None


@dataclass(frozen=True)
class _StepDownTimeout:
    pass


Reply = Callable[[int, Any], Any]  # (index, apply result) -> reply payload


@dataclass
class _Waiter:
    term: int
    ctx: Context
    reply: Reply
    started: float = field(default_factory=time.perf_counter)


class RaftGroupActor(Actor):
    """One Raft group (cluster) on this node. Spawned as `wire.group_actor(cluster)`."""

    mailbox_capacity = 65536

    def __init__(
        self,
        *,
        cluster: int,
        cluster_uid: str,
        listen: str,
        storage: LockedStorage,
        writer: Writer,
        timing: RaftTiming,
        metrics: GroupMetrics,
        router: str = ROUTER,
    ) -> None:
        self.cluster = cluster
        self.cluster_uid = cluster_uid
        self.listen = listen
        self.storage = storage
        self.writer = writer
        self.timing = timing
        self.metrics = metrics
        self.router = router
        self._generation = 0
        self._write: Any = None  # the writer future of the outstanding Ready
        self._waiters: dict[int, _Waiter] = {}
        self._reads: dict[bytes, tuple[Context, str]] = {}
        self._stepdown: Context | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        self._read_ids = itertools.count(1)
        self._calls: dict[type[Any], Callable[[Any, Context], None]] = {
            KvPut: self._kv_put,
            KvDelete: self._kv_delete,
            KvGet: self._kv_get,
            ClusterInfoRequest: self._info,
            AllocateNodeId: self._allocate,
            JoinCluster: self._join,
            RemoveNode: self._remove,
            TransferLeadership: self._transfer,
        }

    # -- lifecycle ---------------------------------------------------------------------------

    async def on_start(self) -> None:
        """(Re)build everything from durable storage: at spawn and after a failure restart."""
        if self._write is not None:
            with contextlib.suppress(Exception):  # a failure was reported by its own message
                await self._write
        self._generation += 1
        self._fail_all(ErrorCode.RETRY, "the Raft group restarted; retry")
        self.kv, self.cluster_state = KvStateMachine(), ClusterState()
        self.machine = CompositeStateMachine(
            {kv.SERVICE: self.kv, cluster_state.SERVICE: self.cluster_state}
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
        self._applied = self._compacted_at = snap.meta.index
        self._ready_reads: list[tuple[int, Context, str]] = []
        self._persisting = self._compacting = False
        self._failed: str | None = None
        self._leader = 0
        self._ticks = 0
        self._addresses_index = 0
        self._sync_peers()
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
        self._calls[type(call.request)](call.request, call.ctx)
        self._drive()

    @handler
    def on_written(self, msg: _Written, ctx: Context) -> None:
        if msg.generation != self._generation:
            return
        self._persisting = False
        self._write = None
        if msg.error is not None:
            self._storage_failed(msg.error)
            return
        self._finish(msg.rd)
        self._drive()

    @handler
    def on_step_down(self, msg: StepDown, ctx: Context) -> None:
        if self.core.role != Role.LEADER or self._failed:
            ctx.reply(True)
            return
        target = self._best_transferee()
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
        (the rest continues in on_written) or, with nothing to write, finish at once."""
        core = self.core
        while not self._persisting and core.has_ready():
            rd = core.ready()
            self._send(rd.messages)
            if rd.soft_state is not None:
                self._on_soft_state(rd.soft_state)
            if needs_write(rd):
                self._persisting = True
                self._start_write(rd)
                return
            self._finish(rd)

    def _start_write(self, rd: Ready) -> None:
        generation, storage = self._generation, self.storage
        self._write = future = self.writer.run(lambda: write_ready(storage, rd))

        def written(done: Any) -> None:
            error = None if done.cancelled() else done.exception()
            message = _Written(generation, rd, error)
            if self.name not in self.bus.actors:
                return  # stopped meanwhile (shutdown)
            if not self.bus.try_send(self.address, message):  # full mailbox: wait for room
                task = asyncio.ensure_future(self.bus.send(self.address, message))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        future.add_done_callback(written)

    def _finish(self, rd: Ready) -> None:
        """Steps 4-7 of the Ready contract, once `rd` is durable."""
        self._send(rd.messages_after_persist)
        if rd.snapshot is not None:
            self._install_snapshot(rd.snapshot.meta)
        book_changed = False
        for entry in rd.committed_entries:
            book_changed |= self._apply(entry)
        for read in rd.read_states:
            waiting = self._reads.pop(read.context, None)
            if waiting is not None:
                self._ready_reads.append((read.index, *waiting))
        self.core.advance(rd)
        if self._ready_reads:
            self._serve_reads()
        if book_changed:
            self._sync_peers()
        self._maybe_compact()

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
            self._leader = ss.leader
            update = LeaderUpdate(self.cluster, ss.leader)
            self.try_send(Address(self.bus.node_id, self.router), update)
            for ctx, _ in self._reads.values():
                ctx.fail(ErrorCode.RETRY, "leadership changed during the read; retry")
            self._reads.clear()
        if ss.role == Role.CANDIDATE:
            self.metrics.elections.inc()
        if ss.role != Role.LEADER and self._stepdown is not None:
            self.cancel_timer("stepdown")
            self._stepdown.reply(True)
            self._stepdown = None

    # -- applying ----------------------------------------------------------------------------

    def _apply(self, entry: Entry) -> bool:
        """Apply one committed entry and answer its proposer; True if the address book changed."""
        result: Any = None
        error: RaftoralError | None = None
        book_changed = False
        if entry.kind == EntryKind.CONF_CHANGE:
            change = decode_conf_entry(entry).change
            self.cluster_state.apply_conf_change(change)
            book_changed = True
        elif entry.data:
            try:
                result = self.machine.apply(entry.index, entry.data)
            except RaftoralError as exc:  # deterministic: the same on every node
                log.warning("entry not applied", index=entry.index, error=exc.message)
                error = exc
            book_changed = result is None and error is None
        self._applied = entry.index
        self.metrics.commits.inc()
        waiter = self._waiters.pop(entry.index, None)
        if waiter is not None:
            if waiter.term != entry.term:
                waiter.ctx.fail(ErrorCode.RETRY, "a new leader replaced the entry; retry")
            elif error is not None:
                waiter.ctx.fail(ErrorCode.REJECTED, error.message)
            else:
                self.metrics.commit_latency.observe(time.perf_counter() - waiter.started)
                waiter.ctx.reply(waiter.reply(entry.index, result))
        return book_changed

    def _install_snapshot(self, meta: SnapshotMeta) -> None:
        self.machine.restore(self.storage.snapshot().data)
        self._applied = self._compacted_at = meta.index
        for index in [i for i in self._waiters if i <= meta.index]:
            self._waiters.pop(index).ctx.fail(
                ErrorCode.TIMEOUT, "a snapshot replaced the log; the outcome is unknown"
            )
        self._sync_peers()

    def _serve_reads(self) -> None:
        keep = []
        for index, ctx, key in self._ready_reads:
            if index <= self._applied:
                value = self.kv.get(key)
                ctx.reply(KvValue(value is not None, value or b"", self._applied))
            else:
                keep.append((index, ctx, key))
        self._ready_reads = keep

    def _maybe_compact(self) -> None:
        if self._compacting or self._applied - self._compacted_at < self.timing.snapshot_entries:
            return
        index, data = self._applied, self.machine.snapshot()
        conf, storage = self.core.conf_at(index), self.storage
        self._compacting = True
        future = self.writer.run(lambda: storage.compact(index, data, conf))

        def compacted(done: Any) -> None:
            self._compacting = False
            error = None if done.cancelled() else done.exception()
            if error is None:
                self._compacted_at = index
            else:
                log.error("compaction failed", index=index, exc_info=error)

        future.add_done_callback(compacted)

    # -- client calls ------------------------------------------------------------------------

    def _propose(self, ctx: Context, service: str, body: bytes, reply: Reply) -> None:
        try:
            index = self.core.propose(encode_command(service, body))
        except ProposalDropped as exc:
            code = ErrorCode.NOT_LEADER if exc.leader else ErrorCode.NO_LEADER
            ctx.fail(code, exc.message)
            return
        self.metrics.proposals.inc()
        self._register(index, ctx, reply)

    def _register(self, index: int, ctx: Context, reply: Reply) -> None:
        old = self._waiters.pop(index, None)
        if old is not None:
            old.ctx.fail(ErrorCode.RETRY, "a new leader replaced the entry; retry")
        self._waiters[index] = _Waiter(self.core.term, ctx, reply)

    def _kv_put(self, req: KvPut, ctx: Context) -> None:
        body = kv.encode(kv.Put(req.key, req.value))
        self._propose(ctx, kv.SERVICE, body, lambda index, _: KvWritten(index))

    def _kv_delete(self, req: KvDelete, ctx: Context) -> None:
        body = kv.encode(kv.Delete(req.key))
        self._propose(ctx, kv.SERVICE, body, lambda index, existed: KvWritten(index, existed))

    def _kv_get(self, req: KvGet, ctx: Context) -> None:
        if not req.linearizable:
            value = self.kv.get(req.key)
            ctx.reply(KvValue(value is not None, value or b"", self._applied))
            return
        token = next(self._read_ids).to_bytes(8, "big")
        try:
            self.core.read_index(token)
        except ReadIndexDropped as exc:
            ctx.fail(ErrorCode.NO_LEADER, exc.message)
            return
        self._reads[token] = (ctx, req.key)

    def _allocate(self, req: AllocateNodeId, ctx: Context) -> None:
        conf = self.core.conf
        floor = max((*conf.voters, *conf.learners, *self.cluster_state.addresses, 0)) + 1
        body = cluster_state.encode(AllocateId(floor))
        uid = self.cluster_uid
        self._propose(
            ctx, cluster_state.SERVICE, body, lambda _, node_id: NodeIdAllocated(node_id, uid)
        )

    def _join(self, req: JoinCluster, ctx: Context) -> None:
        conf = self.core.conf
        if req.node_id in conf.voters or req.node_id in conf.learners:
            ctx.reply(Joined(self.cluster_uid, self._members()))
            return
        change = ConfChange(ConfChangeType.ADD_LEARNER, req.node_id, req.address.encode())
        if self._conf_change(ctx, change, lambda *_: Joined(self.cluster_uid, self._members())):
            self.bus.add_peer(req.node_id, req.address)  # the leader sends to it at once

    def _remove(self, req: RemoveNode, ctx: Context) -> None:
        change = ConfChange(ConfChangeType.REMOVE_NODE, req.node_id)
        self._conf_change(ctx, change, lambda index, _: Ack(index, req.node_id))

    def _conf_change(self, ctx: Context, change: ConfChange, reply: Reply) -> bool:
        if self.core.role != Role.LEADER:
            ctx.fail(ErrorCode.NOT_LEADER, f"node {self.bus.node_id} is not the leader; retry")
            return False
        try:
            apply_change(self.core.conf, change)
        except ConfChangeRejected as exc:
            ctx.fail(ErrorCode.REJECTED, exc.message)
            return False
        try:
            index = self.core.propose_conf_change(change)
        except ConfChangeRejected as exc:  # transient: a change pending, a transfer, a new term
            ctx.fail(ErrorCode.RETRY, exc.message)
            return False
        self._register(index, ctx, reply)
        return True

    def _transfer(self, req: TransferLeadership, ctx: Context) -> None:
        target = req.target or self._best_transferee()
        if not target:
            ctx.fail(ErrorCode.REJECTED, "there is no other voter to hand leadership to")
            return
        try:
            self.core.transfer_leadership(target)
        except LeadershipTransferRejected as exc:
            leading = self.core.role == Role.LEADER
            ctx.fail(ErrorCode.REJECTED if leading else ErrorCode.NOT_LEADER, exc.message)
            return
        ctx.reply(Ack(0, target))

    def _info(self, req: ClusterInfoRequest, ctx: Context) -> None:
        status = self.core.status()
        role = _ROLE_NAMES[status.role]
        if status.role == Role.FOLLOWER and self.bus.node_id not in status.conf.voters:
            role = "learner"
        ctx.reply(
            ClusterInfo(
                cluster=self.cluster,
                cluster_uid=self.cluster_uid,
                node_id=self.bus.node_id,
                role=role,
                leader=status.leader,
                term=status.term,
                commit=status.commit,
                applied=self._applied,
                last_index=status.last_index,
                members=self._members(),
            )
        )

    # -- membership and housekeeping ---------------------------------------------------------

    def _members(self) -> tuple[MemberInfo, ...]:
        status = self.core.status()
        me = self.bus.node_id
        book = self._known_addresses()
        progress = {node: pr.match for node, pr in status.progress.items()}
        if status.role == Role.LEADER:
            progress[me] = status.last_index
        roles = [(n, "voter") for n in status.conf.voters]
        roles += [(n, "learner") for n in status.conf.learners]
        return tuple(
            MemberInfo(node, book.get(node, ""), role, progress.get(node, -1))
            for node, role in roles
        )

    def _known_addresses(self) -> dict[int, str]:
        known = {**self.bus.peers, **self.cluster_state.addresses}
        known[self.bus.node_id] = self.listen
        return known

    def _sync_peers(self) -> None:
        """Connect to every member of the address book (reconnecting when an address moved)."""
        peers, me = self.bus.peers, self.bus.node_id
        for node, address in self.cluster_state.addresses.items():
            if node != me and peers.get(node) != address:
                self.bus.add_peer(node, address)

    def _housekeeping(self) -> None:
        core = self.core
        self.metrics.indexes(core.term, core.role, core.commit_index, self._applied)
        status = core.status()
        self.metrics.snapshots(status.snapshots)
        if status.role != Role.LEADER:
            return
        self._complete_address_book()
        conf = status.conf
        if len(conf.voters) >= self.timing.max_voters or status.lead_transferee:
            return
        for learner in conf.learners:
            progress = status.progress.get(learner)
            if progress is not None and progress.match >= status.commit:
                try:
                    core.propose_conf_change(ConfChange(ConfChangeType.ADD_VOTER, learner))
                    log.info("promoting learner to voter", node=learner)
                except ConfChangeRejected:
                    pass  # a change is pending or the term is new: next round
                return

    def _complete_address_book(self) -> None:
        """The leader records the addresses it knows of members missing from the book (the
        bootstrap node itself, --peers members)."""
        if self._addresses_index > self._applied:
            return  # the previous proposal is not applied yet
        conf, book, known = self.core.conf, self.cluster_state.addresses, self._known_addresses()
        missing = {
            node: known[node]
            for node in (*conf.voters, *conf.learners)
            if node not in book and node in known
        }
        if missing:
            command = cluster_state.encode(SetAddresses(missing))
            body = encode_command(cluster_state.SERVICE, command)
            with contextlib.suppress(ProposalDropped):
                self._addresses_index = self.core.propose(body)

    def _best_transferee(self) -> int:
        status = self.core.status()
        others = [n for n in status.conf.voters if n != self.bus.node_id]
        if not others:
            return 0
        return max(others, key=lambda n: status.progress[n].match if n in status.progress else -1)

    def _storage_failed(self, error: BaseException) -> None:
        self._failed = f"the raft log of cluster {self.cluster} failed: {error}; restart the node"
        log.error("raft storage failed; the group stops", cluster=self.cluster, exc_info=error)
        self.cancel_timer("tick")
        self._fail_all("storage_error", self._failed)

    def _fail_all(self, code: str, message: str) -> None:
        for waiter in self._waiters.values():
            waiter.ctx.fail(code, message)
        self._waiters.clear()
        for ctx, _ in self._reads.values():
            ctx.fail(code, message)
        self._reads.clear()
        for _, ctx, _ in getattr(self, "_ready_reads", ()):
            ctx.fail(code, message)
        self._ready_reads = []
