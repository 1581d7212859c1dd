"""ClusterRouterActor: the node's front door ("router"). Routes requests by cluster id to the local
group or workflow executor, forwards writes to the leader (bounded hops), answers discovery."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog

from actors import Actor, Address, AskTimeout, Context, Fault, RemoteError, UnknownPeer, handler
from raftoral.node.group import ClientCall, LeaderUpdate
from raftoral.wire import (
    EXECUTOR,
    MAX_HOPS,
    ROUTER,
    Ack,
    AllocateNodeId,
    ClusterInfoRequest,
    DescribeWorkflow,
    ErrorCode,
    Hello,
    HelloReply,
    JoinCluster,
    KvDelete,
    KvGet,
    KvPut,
    ListWorkflows,
    ProposeWorkflow,
    RemoveNode,
    SetFaults,
    StartWorkflow,
    TransferLeadership,
    WorkflowResultRequest,
)

log = structlog.get_logger("raftoral.node")

Local = KvGet | ClusterInfoRequest  # served by this node's group (reads use ReadIndex)
Leader = (
    KvPut
    | KvDelete
    | AllocateNodeId
    | JoinCluster
    | RemoveNode
    | TransferLeadership
    | ProposeWorkflow
)
Workflows = StartWorkflow | WorkflowResultRequest | DescribeWorkflow | ListWorkflows  # executor


@dataclass(frozen=True)
class RouterInfo:
    cluster_uid: str
    listen: str
    groups: dict[int, str]  # cluster id -> group actor name
    forward_timeout: float = 10.0


class ClusterRouterActor(Actor):
    mailbox_capacity = 65536

    def __init__(self, info: RouterInfo) -> None:
        self.info = info
        self._tasks: set[asyncio.Task[None]] = set()

    async def on_start(self) -> None:
        self.leaders: dict[int, int] = {}

    async def on_stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    @handler
    def on_hello(self, msg: Hello, ctx: Context) -> HelloReply:
        info = self.info
        return HelloReply(self.bus.node_id, info.cluster_uid, info.listen, tuple(info.groups))

    @handler
    def on_leader(self, msg: LeaderUpdate, ctx: Context) -> None:
        self.leaders[msg.cluster] = msg.leader

    @handler
    def on_set_faults(self, msg: SetFaults, ctx: Context) -> Ack:
        self.bus.set_faults({rule.peer: Fault(rule.drop, rule.delay) for rule in msg.rules})
        log.warning("fault injection set", rules=[msgspec.to_builtins(r) for r in msg.rules])
        return Ack()

    @handler
    async def on_local(self, msg: Local, ctx: Context) -> None:
        group = self._group(msg.cluster, ctx)
        if group is not None:
            await self.send(group, ClientCall(msg, ctx))

    @handler
    async def on_workflows(self, msg: Workflows, ctx: Context) -> None:
        if self._group(msg.cluster, ctx) is not None:
            await self.send(Address(self.bus.node_id, EXECUTOR), ClientCall(msg, ctx))

    @handler
    async def on_leader_request(self, msg: Leader, ctx: Context) -> None:
        group = self._group(msg.cluster, ctx)
        if group is None:
            return
        leader = self.leaders.get(msg.cluster, 0)
        if leader == self.bus.node_id:
            await self.send(group, ClientCall(msg, ctx))
        elif not leader:
            ctx.fail(ErrorCode.NO_LEADER, f"cluster {msg.cluster} has no leader yet; retry shortly")
        elif msg.hops >= MAX_HOPS:
            ctx.fail(
                ErrorCode.NO_LEADER,
                f"request forwarded {msg.hops} times without reaching the leader; retry shortly",
            )
        else:
            forwarded = msgspec.structs.replace(msg, hops=msg.hops + 1)
            task = asyncio.ensure_future(self._forward(Address(leader, ROUTER), forwarded, ctx))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _group(self, cluster: int, ctx: Context) -> Address | None:
        name = self.info.groups.get(cluster)
        if name is None:
            known = ", ".join(map(str, self.info.groups)) or "none"
            ctx.fail(
                ErrorCode.NO_SUCH_CLUSTER,
                f"node {self.bus.node_id} serves no cluster {cluster} (it serves: {known})",
            )
            return None
        return Address(self.bus.node_id, name)

    async def _forward(self, leader: Address, msg: Any, ctx: Context) -> None:
        """Ask the leader's router and relay its answer."""
        try:
            reply = await self.bus.ask(leader, msg, timeout=self.info.forward_timeout)
        except RemoteError as exc:
            ctx.fail(exc.code, str(exc))
        except AskTimeout:
            ctx.fail(ErrorCode.TIMEOUT, f"leader {leader.node} did not answer in time")
        except UnknownPeer:
            ctx.fail(ErrorCode.NO_LEADER, f"no address for leader {leader.node} yet; retry")
        else:
            ctx.reply(reply)
