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
        self._forwards: dict[asyncio.Task[None], tuple[int, int]] = {}  # -> (cluster, leader)
        self._abandoned: set[asyncio.Task[None]] = set()

    async def on_stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    @handler
    def on_hello(self, msg: Hello, ctx: Context) -> HelloReply:
        info = self.info
        return HelloReply(self.bus.node_id, info.cluster_uid, info.listen, tuple(info.groups))

    @handler
    def on_leader(self, msg: LeaderUpdate, ctx: Context) -> None:
        old = self.leaders.get(msg.cluster, 0)
        self.leaders[msg.cluster] = msg.leader
        if old and old != msg.leader:
            self._abandon_forwards(msg.cluster, old)

    def _abandon_forwards(self, cluster: int, leader: int) -> None:
        """Requests forwarded to a leader that has since lost its leadership are answered
        `timeout` now rather than after forward_timeout: their outcome is unknown (the entry may
        still commit), and the caller can read back or resend an idempotent request at once."""
        for task, target in list(self._forwards.items()):
            if target == (cluster, leader):
                self._abandoned.add(task)
                task.cancel()

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
            self._forwards[task] = (msg.cluster, leader)
            task.add_done_callback(self._forget_forward)

    def _forget_forward(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._forwards.pop(task, None)
        self._abandoned.discard(task)

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
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task not in self._abandoned:
                raise
            ctx.fail(
                ErrorCode.TIMEOUT,
                f"node {leader.node} lost its leadership before answering: the outcome is unknown",
            )
        except RemoteError as exc:
            ctx.fail(exc.code, str(exc))
        except AskTimeout:
            ctx.fail(ErrorCode.TIMEOUT, f"leader {leader.node} did not answer in time")
        except UnknownPeer:
            ctx.fail(ErrorCode.NO_LEADER, f"no address for leader {leader.node} yet; retry")
        else:
            ctx.reply(reply)
