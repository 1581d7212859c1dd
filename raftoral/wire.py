"""The wire contract of raftoral nodes: msgspec Structs registered as kinds with the actors bus.

Raft traffic between nodes, client requests and replies, admin messages, error codes and names.
"""

from __future__ import annotations

import random
from typing import Any, Final

import msgspec

from actors import KINDS, Address
from raftoral.raft.types import Message

DEFAULT_CLUSTER: Final = 1
ROUTER: Final = "router"  # every client request goes to Address(node, ROUTER)
MAX_HOPS: Final = 3  # a request forwarded to the leader more often than this fails (no_leader)
# Node ids are 1 .. MAX_NODE_ID; clients use a random id above it as their DEALER identity, so a
# client can never take over a node's identity on a ROUTER (ROUTER_HANDOVER).
MAX_NODE_ID: Final = (1 << 32) - 1
_CLIENT_ID_SPAN: Final = 1 << 60


def group_actor(cluster: int) -> str:
    """The name of the actor driving the Raft group of `cluster` on every node ("raft.1")."""
    return f"raft.{cluster}"


def client_node_id() -> int:
    """A fresh bus node id for a client process (never a valid node id)."""
    return MAX_NODE_ID + 1 + random.randrange(_CLIENT_ID_SPAN)


def seed_address(alias: int) -> Address:
    """The router of a node known only by host:port. A client registers the seed as a peer under
    any local alias (`bus.add_peer(alias, "host:port")`) and asks this address: the receiving bus
    routes by actor name only, so the alias never has to be the node's real id. `Hello` tells
    the real id."""
    return Address(alias, ROUTER)


class ErrorCode:
    """Codes of error replies (`ctx.fail(code, message)`; clients see `RemoteError.code`)."""

    NO_SUCH_CLUSTER: Final = "no_such_cluster"  # this node serves no such cluster id
    NO_LEADER: Final = "no_leader"  # no leader known yet (election running): retry shortly
    NOT_LEADER: Final = "not_leader"  # leadership moved while forwarding: retry
    TIMEOUT: Final = "timeout"  # the request did not complete in time; its outcome is unknown
    REJECTED: Final = "rejected"  # invalid request (bad node id, last voter, ...): do not retry
    RETRY: Final = "retry"  # the entry was overwritten by a new leader: not applied, retry
    STOPPING: Final = "stopping"  # the node is shutting down: use another node


# -- between nodes ---------------------------------------------------------------------------


class RaftBatch(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """Raft messages of one cluster from one node to another, sent one-way to
    Address(peer, group_actor(cluster))."""

    cluster: int
    messages: tuple[Message, ...]


# -- discovery -------------------------------------------------------------------------------


class Hello(msgspec.Struct, frozen=True, array_like=True):
    """Ask a node (known by host:port only) who it is."""


class HelloReply(msgspec.Struct, frozen=True, array_like=True):
    node_id: int
    cluster_uid: str  # random at bootstrap; identifies the cluster across restarts
    listen: str
    clusters: tuple[int, ...]


# -- key-value (the replicated test and benchmark workload) ----------------------------------


class KvPut(msgspec.Struct, frozen=True, array_like=True):
    key: str
    value: bytes
    cluster: int = DEFAULT_CLUSTER
    hops: int = 0


class KvDelete(msgspec.Struct, frozen=True, array_like=True):
    key: str
    cluster: int = DEFAULT_CLUSTER
    hops: int = 0


class KvGet(msgspec.Struct, frozen=True, array_like=True):
    """`linearizable=True` reads through ReadIndex (on any node, never stale); False reads the
    node's applied state at once (may be stale)."""

    key: str
    linearizable: bool = True
    cluster: int = DEFAULT_CLUSTER
    hops: int = 0


class KvWritten(msgspec.Struct, frozen=True, array_like=True):
    """A put or delete is committed and applied at `index` (durable on a majority)."""

    index: int
    existed: bool = False  # delete: whether the key was there


class KvValue(msgspec.Struct, frozen=True, array_like=True):
    found: bool
    value: bytes
    index: int  # the applied index the value was read at


# -- cluster management ----------------------------------------------------------------------


class ClusterInfoRequest(msgspec.Struct, frozen=True, array_like=True):
    cluster: int = DEFAULT_CLUSTER


class MemberInfo(msgspec.Struct, frozen=True, array_like=True):
    node_id: int
    address: str  # host:port, "" when not known yet
    role: str  # "voter" | "learner"
    match: int = -1  # replication progress as the leader sees it; -1 when not answered by it


class ClusterInfo(msgspec.Struct, frozen=True, array_like=True):
    """One node's view of one cluster (its commit and applied index are its own)."""

    cluster: int
    cluster_uid: str
    node_id: int
    role: str  # "leader" | "follower" | "candidate" | "pre_candidate" | "learner"
    leader: int  # 0: none known
    term: int
    commit: int
    applied: int
    last_index: int
    members: tuple[MemberInfo, ...]


class AllocateNodeId(msgspec.Struct, frozen=True, array_like=True):
    """Get a node id for a joining node; allocated through a committed entry (never reused)."""

    cluster: int = DEFAULT_CLUSTER
    hops: int = 0


class NodeIdAllocated(msgspec.Struct, frozen=True, array_like=True):
    node_id: int
    cluster_uid: str


class JoinCluster(msgspec.Struct, frozen=True, array_like=True):
    """Add `node_id` (listening on `address`) as a learner; the leader promotes it to voter once
    caught up while the cluster has fewer voters than its maximum. Idempotent."""

    node_id: int
    address: str
    cluster: int = DEFAULT_CLUSTER
    hops: int = 0


class Joined(msgspec.Struct, frozen=True, array_like=True):
    cluster_uid: str
    members: tuple[MemberInfo, ...]


class RemoveNode(msgspec.Struct, frozen=True, array_like=True):
    node_id: int
    cluster: int = DEFAULT_CLUSTER
    hops: int = 0


class TransferLeadership(msgspec.Struct, frozen=True, array_like=True):
    """Move leadership to voter `target` (0: the most caught-up other voter)."""

    target: int = 0
    cluster: int = DEFAULT_CLUSTER
    hops: int = 0


class Ack(msgspec.Struct, frozen=True, array_like=True):
    """Success of an admin request; `index` is the log index of its entry when it has one."""

    index: int = 0
    node_id: int = 0


# -- fault injection (tests on loopback) ----------------------------------------------------


class FaultRule(msgspec.Struct, frozen=True, array_like=True):
    """Outbound traffic of the receiving node to `peer`: dropped, or delayed by `delay` s."""

    peer: int
    drop: bool = True
    delay: float = 0.0


class SetFaults(msgspec.Struct, frozen=True, array_like=True):
    """Replace the node's fault rules (an empty tuple heals). Answered with Ack."""

    rules: tuple[FaultRule, ...] = ()


# -- workflows -------------------------------------------------------------------------------

EXECUTOR: Final = "workflows"  # the WorkflowExecutorActor of every node


class StartWorkflow(msgspec.Struct, frozen=True, array_like=True):
    """Start `name` with `input` (MessagePack of msgspec builtins) on the receiving node, which
    owns the run. `version` 0: the newest on that node; `workflow_id` "": a generated id."""

    name: str
    input: bytes
    version: int = 0
    workflow_id: str = ""
    cluster: int = DEFAULT_CLUSTER


class WorkflowStarted(msgspec.Struct, frozen=True, array_like=True):
    """The start is committed: a new run, or (`existing`) the run that already had this id."""

    workflow_id: str
    name: str
    version: int
    existing: bool
    status: str


class WorkflowResultRequest(msgspec.Struct, frozen=True, array_like=True):
    """Answered with a WorkflowSummary once the run finished, or after `timeout` seconds (then
    its status is still "running"). A run the node has not applied yet is waited for too; still
    unknown after `timeout`, it fails with no_such_workflow."""

    workflow_id: str
    timeout: float
    cluster: int = DEFAULT_CLUSTER


class DescribeWorkflow(msgspec.Struct, frozen=True, array_like=True):
    workflow_id: str
    cluster: int = DEFAULT_CLUSTER


class ListWorkflows(msgspec.Struct, frozen=True, array_like=True):
    status: str = ""  # "": every status
    cluster: int = DEFAULT_CLUSTER


class WorkflowSummary(msgspec.Struct, frozen=True):
    """A run as the answering node sees it. `input` and `result` are MessagePack; `notes` say
    why this node cannot run it (an unregistered version, an input it cannot decode)."""

    workflow_id: str
    name: str
    version: int
    status: str
    owner: int
    epoch: int
    checkpoints: int
    started_at: int
    finished_at: int | None
    input: bytes
    result: bytes | None = None
    error_type: str = ""
    error_message: str = ""
    notes: tuple[str, ...] = ()


class WorkflowList(msgspec.Struct, frozen=True, array_like=True):
    workflows: tuple[WorkflowSummary, ...]


class ProposeWorkflow(msgspec.Struct, frozen=True, array_like=True):
    """Node -> leader: propose a workflow command (`body`: its encoding) to `service` ("workflow"
    or "workflow_catalog"); answered once applied."""

    body: bytes
    cluster: int = DEFAULT_CLUSTER
    hops: int = 0
    service: str = "workflow"


class WorkflowProposed(msgspec.Struct, frozen=True, array_like=True):
    """A workflow command applied at `index`: `outcome` is "started", "conflict", "accepted",
    "ended", "owner_changed", "retention", "announced" or "ignored"; `message` the conflict or
    the reason."""

    index: int
    outcome: str
    existing: bool = False
    version: int = 0
    status: str = ""
    message: str = ""


Forwardable = (
    KvPut
    | KvDelete
    | AllocateNodeId
    | JoinCluster
    | RemoveNode
    | TransferLeadership
    | ProposeWorkflow
)

_KINDS: tuple[tuple[str, type[Any]], ...] = (
    ("raftoral.raft_batch", RaftBatch),
    ("raftoral.hello", Hello),
    ("raftoral.hello_reply", HelloReply),
    ("raftoral.kv_put", KvPut),
    ("raftoral.kv_delete", KvDelete),
    ("raftoral.kv_get", KvGet),
    ("raftoral.kv_written", KvWritten),
    ("raftoral.kv_value", KvValue),
    ("raftoral.cluster_info_request", ClusterInfoRequest),
    ("raftoral.member_info", MemberInfo),
    ("raftoral.cluster_info", ClusterInfo),
    ("raftoral.allocate_node_id", AllocateNodeId),
    ("raftoral.node_id_allocated", NodeIdAllocated),
    ("raftoral.join_cluster", JoinCluster),
    ("raftoral.joined", Joined),
    ("raftoral.remove_node", RemoveNode),
    ("raftoral.transfer_leadership", TransferLeadership),
    ("raftoral.ack", Ack),
    ("raftoral.set_faults", SetFaults),
    ("raftoral.start_workflow", StartWorkflow),
    ("raftoral.workflow_started", WorkflowStarted),
    ("raftoral.workflow_result_request", WorkflowResultRequest),
    ("raftoral.describe_workflow", DescribeWorkflow),
    ("raftoral.list_workflows", ListWorkflows),
    ("raftoral.workflow_summary", WorkflowSummary),
    ("raftoral.workflow_list", WorkflowList),
    ("raftoral.propose_workflow", ProposeWorkflow),
    ("raftoral.workflow_proposed", WorkflowProposed),
)

for _name, _type in _KINDS:
    KINDS.register(_name, _type)
