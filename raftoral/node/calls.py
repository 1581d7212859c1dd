"""The client requests a Raft group serves (handed over by the router): KV writes and reads,
cluster info, node ids, joins, removals and leadership transfers."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from actors import Context
from raftoral.errors import (
    ConfChangeRejected,
    LeadershipTransferRejected,
    ProposalDropped,
    ReadIndexDropped,
)
from raftoral.node import cluster_state, kv, membership
from raftoral.node.cluster_state import AllocateId
from raftoral.node.state_machine import encode_command
from raftoral.node.waiters import Reply
from raftoral.node.workflow_proposals import propose_workflow
from raftoral.raft.confchange import apply_change
from raftoral.raft.types import ConfChange, ConfChangeType, Role
from raftoral.wire import (
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
    KvWritten,
    NodeIdAllocated,
    ProposeWorkflow,
    RemoveNode,
    TransferLeadership,
)

if TYPE_CHECKING:
    from raftoral.node.group import RaftGroupActor

ROLE_NAMES = {
    Role.LEADER: "leader",
    Role.FOLLOWER: "follower",
    Role.CANDIDATE: "candidate",
    Role.PRE_CANDIDATE: "pre_candidate",
}


class ClientCalls:
    """Serves each request type of `group`; proposals are answered once applied."""

    def __init__(self, group: RaftGroupActor) -> None:
        self.group = group
        self._read_ids = itertools.count(1)
        self.by_type: dict[type[Any], Callable[[Any, Context], None]] = {
            KvPut: self._kv_put,
            KvDelete: self._kv_delete,
            KvGet: self._kv_get,
            ClusterInfoRequest: self._info,
            AllocateNodeId: self._allocate,
            JoinCluster: self._join,
            RemoveNode: self._remove,
            TransferLeadership: self._transfer,
            ProposeWorkflow: lambda req, ctx: propose_workflow(self, req, ctx),
        }

    def propose(self, ctx: Context, service: str, body: bytes, reply: Reply) -> None:
        group = self.group
        try:
            index = group.core.propose(encode_command(service, body))
        except ProposalDropped as exc:
            ctx.fail(ErrorCode.NOT_LEADER if exc.leader else ErrorCode.NO_LEADER, exc.message)
            return
        group.metrics.proposals.inc()
        group.proposals.register(index, group.core.term, ctx, reply)

    def _kv_put(self, req: KvPut, ctx: Context) -> None:
        body = kv.encode(kv.Put(req.key, req.value))
        self.propose(ctx, kv.SERVICE, body, lambda index, _: KvWritten(index))

    def _kv_delete(self, req: KvDelete, ctx: Context) -> None:
        body = kv.encode(kv.Delete(req.key))
        self.propose(ctx, kv.SERVICE, body, lambda index, existed: KvWritten(index, existed))

    def _kv_get(self, req: KvGet, ctx: Context) -> None:
        group = self.group
        if not req.linearizable:
            group.answer_read(ctx, req.key)
            return
        token = next(self._read_ids).to_bytes(8, "big")
        try:
            group.core.read_index(token)
        except ReadIndexDropped as exc:
            ctx.fail(ErrorCode.NO_LEADER, exc.message)
            return
        group.reads.add(token, ctx, req.key)

    def _allocate(self, req: AllocateNodeId, ctx: Context) -> None:
        group = self.group
        conf = group.core.conf
        floor = max((*conf.voters, *conf.learners, *group.cluster_state.addresses, 0)) + 1
        uid = group.cluster_uid
        self.propose(
            ctx,
            cluster_state.SERVICE,
            cluster_state.encode(AllocateId(floor)),
            lambda _, node_id: NodeIdAllocated(node_id, uid),
        )

    def _join(self, req: JoinCluster, ctx: Context) -> None:
        group = self.group
        conf = group.core.conf
        if req.node_id in conf.voters or req.node_id in conf.learners:
            ctx.reply(Joined(group.cluster_uid, group.members()))
            return
        change = ConfChange(ConfChangeType.ADD_LEARNER, req.node_id, req.address.encode())
        if self._conf_change(ctx, change, lambda *_: Joined(group.cluster_uid, group.members())):
            group.bus.add_peer(req.node_id, req.address)  # the leader sends to it at once

    def _remove(self, req: RemoveNode, ctx: Context) -> None:
        change = ConfChange(ConfChangeType.REMOVE_NODE, req.node_id)
        self._conf_change(ctx, change, lambda index, _: Ack(index, req.node_id))

    def _conf_change(self, ctx: Context, change: ConfChange, reply: Reply) -> bool:
        core = self.group.core
        if core.role != Role.LEADER:
            ctx.fail(
                ErrorCode.NOT_LEADER, f"node {self.group.bus.node_id} is not the leader; retry"
            )
            return False
        try:
            apply_change(core.conf, change)
        except ConfChangeRejected as exc:
            ctx.fail(ErrorCode.REJECTED, exc.message)
            return False
        try:
            index = core.propose_conf_change(change)
        except ConfChangeRejected as exc:  # transient: a change pending, a transfer, a new term
            ctx.fail(ErrorCode.RETRY, exc.message)
            return False
        self.group.proposals.register(index, core.term, ctx, reply)
        return True

    def _transfer(self, req: TransferLeadership, ctx: Context) -> None:
        group = self.group
        target = req.target or membership.best_transferee(group.core, group.bus.node_id)
        if not target:
            ctx.fail(ErrorCode.REJECTED, "there is no other voter to hand leadership to")
            return
        try:
            group.core.transfer_leadership(target)
        except LeadershipTransferRejected as exc:
            leading = group.core.role == Role.LEADER
            ctx.fail(ErrorCode.REJECTED if leading else ErrorCode.NOT_LEADER, exc.message)
            return
        ctx.reply(Ack(0, target))

    def _info(self, req: ClusterInfoRequest, ctx: Context) -> None:
        group = self.group
        status = group.core.status()
        role = ROLE_NAMES[status.role]
        if status.role == Role.FOLLOWER and group.bus.node_id not in status.conf.voters:
            role = "learner"
        ctx.reply(
            ClusterInfo(
                cluster=group.cluster,
                cluster_uid=group.cluster_uid,
                node_id=group.bus.node_id,
                role=role,
                leader=status.leader,
                term=status.term,
                commit=status.commit,
                applied=group.applied,
                last_index=status.last_index,
                members=group.members(),
            )
        )
