"""The Python client of a raftoral cluster: talks to any node over ZeroMQ, known by host:port.

Owns the request machinery once (address failover, bounded retries within a deadline, error
mapping to raftoral.errors); each public method is one request built on it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import msgspec

from actors import ActorsError, Address, AskTimeout, Bus, RemoteError, UnknownPeer
from raftoral.errors import (
    InvalidInput,
    NoNodeReachable,
    NoSuchRun,
    PayloadTooLarge,
    RaftoralError,
    Rejected,
    Timeout,
    UnknownVersion,
    UnknownWorkflow,
    VersionMissingOnMember,
    WorkflowConflict,
)
from raftoral.handles import WorkflowHandle
from raftoral.wire import (
    DEFAULT_CLUSTER,
    Ack,
    ClusterInfo,
    ClusterInfoRequest,
    DescribeWorkflow,
    ErrorCode,
    Hello,
    HelloReply,
    KvDelete,
    KvGet,
    KvPut,
    KvValue,
    KvWritten,
    ListWorkflows,
    RemoveNode,
    StartWorkflow,
    TransferLeadership,
    WorkflowList,
    WorkflowResultRequest,
    WorkflowStarted,
    WorkflowSummary,
    client_node_id,
    seed_address,
)

T = TypeVar("T")

DEFAULT_CONNECT = "127.0.0.1:7101"
CONNECT_ENV = "RAFTORAL_CONNECT"
# The request was not applied (or not even taken): safe to send again, to this node or another.
RETRYABLE = frozenset(
    {ErrorCode.NO_LEADER, ErrorCode.NOT_LEADER, ErrorCode.RETRY, ErrorCode.STOPPING,
     "mailbox_full", "no_such_actor"}
)  # fmt: skip
FIRST_BACKOFF = 0.02  # seconds between passes over the addresses; doubles up to MAX_BACKOFF
MAX_BACKOFF = 0.5
REPLY_MARGIN = 0.1  # seconds a node waiting for a result leaves for its answer to arrive


def parse_connect(spec: str | None) -> list[str]:
    """`"h1:p1,h2:p2"` (else $RAFTORAL_CONNECT, else 127.0.0.1:7101) as a list of addresses."""
    text = spec or os.environ.get(CONNECT_ENV) or DEFAULT_CONNECT
    addresses = [part.strip() for part in text.split(",") if part.strip()]
    for address in addresses:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise Rejected(f"bad address {address!r}: expected HOST:PORT (e.g. 127.0.0.1:7101)")
    if not addresses:
        raise Rejected("no address to connect to: give HOST:PORT,...")
    return addresses


class _Seed:
    """One node known by host:port: its alias on the client bus and whether it answered."""

    def __init__(self, endpoint: str, alias: int) -> None:
        self.endpoint = endpoint
        self.address: Address = seed_address(alias)
        self.hello: HelloReply | None = None  # set once the node answered on this connection
        self.probe: asyncio.Task[bool] | None = None


class Client:
    """A connection to a cluster through any of `addresses` ("host:port"), tried in turn.

    Use as `async with Client([...]) as client:`. Every request fails over to the next address
    when a node is unreachable or has no leader, within `timeout` seconds overall. A write whose
    outcome is unknown (it timed out after a node took it) raises `Timeout` and is never resent.
    """

    def __init__(
        self,
        addresses: Sequence[str] | str,
        *,
        timeout: float = 10.0,
        connect_timeout: float = 1.0,
        read_timeout: float = 3.0,
        cluster: int = DEFAULT_CLUSTER,
    ) -> None:
        spec = addresses if isinstance(addresses, str) else ",".join(addresses)
        self.addresses = parse_connect(spec)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.cluster = cluster
        self._bus: Bus | None = None
        self._seeds: dict[str, _Seed] = {}
        self._rotation = [self._seed(address) for address in self.addresses]
        self._preferred = 0  # index in _rotation of the last node that answered

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> Client:
        if self._bus is None:
            self._bus = await Bus(client_node_id()).start()
        return self

    async def close(self) -> None:
        for seed in self._seeds.values():
            if seed.probe is not None:
                seed.probe.cancel()
        if self._bus is not None:
            await self._bus.close()
            self._bus = None

    async def __aenter__(self) -> Client:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- key-value ---------------------------------------------------------------------------

    async def kv_put(self, key: str, value: bytes | str) -> int:
        """Set `key`; returns the log index at which the write is committed and applied."""
        data = value.encode() if isinstance(value, str) else value
        written = await self.request(KvPut(key, data, self.cluster), KvWritten, idempotent=False)
        return written.index

    async def kv_get(self, key: str, *, linearizable: bool = True) -> bytes | None:
        """The value of `key`, or None. `linearizable=False` reads one node's applied state
        (fast, possibly stale)."""
        value = await self.request(KvGet(key, linearizable, self.cluster), KvValue)
        return value.value if value.found else None

    async def kv_delete(self, key: str) -> bool:
        """Delete `key`; returns whether it existed."""
        written = await self.request(KvDelete(key, self.cluster), KvWritten, idempotent=False)
        return written.existed

    # -- cluster administration --------------------------------------------------------------

    async def cluster_info(self) -> list[ClusterInfo]:
        """Every reachable member's own view of the cluster, by node id. A member that does
        not answer within `read_timeout` is left out (it is still listed in `members`)."""
        first = await self.request(ClusterInfoRequest(self.cluster), ClusterInfo)
        others = [m.address for m in first.members if m.node_id != first.node_id and m.address]
        views = await asyncio.gather(
            *(self._ask_once(address, ClusterInfoRequest(self.cluster), ClusterInfo)
              for address in others)
        )  # fmt: skip
        answered = {info.node_id: info for info in (first, *views) if info is not None}
        return [answered[node_id] for node_id in sorted(answered)]

    async def remove_node(self, node_id: int) -> int:
        """Remove `node_id` from the cluster; returns the index of the committed change."""
        ack = await self.request(RemoveNode(node_id, self.cluster), Ack, idempotent=False)
        return ack.index

    async def transfer_leadership(self, target: int = 0) -> int:
        """Move leadership to voter `target` (0: the most caught-up other voter); returns the
        node id leadership moves to."""
        message = TransferLeadership(target, self.cluster)
        ack = await self.request(message, Ack, idempotent=False)
        return ack.node_id

    # -- workflows ---------------------------------------------------------------------------

    async def start_workflow(
        self, name: str, input: Any, *, version: int | None = None, workflow_id: str | None = None
    ) -> WorkflowHandle:
        """Start `name` on the first node that answers (it owns the run); returns once the start
        is committed. The result decodes as msgspec builtins (dicts, lists, primitives)."""
        try:
            data = msgspec.msgpack.encode(input)
        except (TypeError, msgspec.EncodeError) as exc:
            raise InvalidInput(f"the input cannot be encoded ({exc})") from exc
        message = StartWorkflow(name, data, version or 0, workflow_id or "", self.cluster)
        # with an id, resending is safe: the id is an idempotency key
        started = await self._workflow_request(message, WorkflowStarted, workflow_id is not None)
        return WorkflowHandle(started, self._finished, msgspec.msgpack.decode)

    async def describe(self, workflow_id: str) -> WorkflowSummary:
        """The run as the answering node sees it (status, version, owner, checkpoints, result)."""
        return await self._workflow_request(
            DescribeWorkflow(workflow_id, self.cluster), WorkflowSummary
        )

    async def list(self, status: str | None = None) -> list[WorkflowSummary]:
        """Known runs in start order, optionally only those with `status`."""
        message = ListWorkflows(status or "", self.cluster)
        return list((await self._workflow_request(message, WorkflowList)).workflows)

    async def _finished(self, workflow_id: str, timeout: float) -> WorkflowSummary:
        """The run once finished, or as it is after `timeout` s (asked in short waits, so a
        node that stops answering is left for another)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout - REPLY_MARGIN
        while True:
            wait = max(0.0, min(deadline - loop.time(), self.read_timeout / 2))
            message = WorkflowResultRequest(workflow_id, wait, self.cluster)
            summary = await self._workflow_request(message, WorkflowSummary)
            if summary.status != "running" or loop.time() >= deadline:
                return summary

    async def _workflow_request(self, message: Any, expect: type[T], idempotent: bool = True) -> T:
        try:
            return await self.request(message, expect, idempotent=idempotent)
        except Rejected as exc:
            raise _workflow_error(exc) from exc

    # -- the request machinery ---------------------------------------------------------------

    async def request(self, message: Any, expect: type[T], *, idempotent: bool = True) -> T:
        """Send `message` to the cluster and return its `expect` reply, failing over between
        addresses. Only an `idempotent` request is resent after a node stopped answering."""
        bus = self._started()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        backoff, last = FIRST_BACKOFF, "no attempt made"
        while True:
            reached = False
            for seed in self._in_turn():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise self._timed_out(message, last)
                if not await self._reachable(seed, remaining):
                    last = f"{seed.endpoint} did not answer within {self.connect_timeout}s"
                    continue
                reached = True
                try:
                    reply = await bus.ask(
                        seed.address, message, timeout=self._attempt_timeout(remaining, idempotent),
                        expect=expect,
                    )  # fmt: skip
                except UnknownPeer:
                    # a concurrent request dropped this connection after our probe: nothing was
                    # sent, so the node is probed afresh and the request may go again
                    seed.hello = None
                    last = f"{seed.endpoint}: connection reset by a concurrent request"
                    continue
                except (AskTimeout, RemoteError) as exc:
                    last = self._after_failure(seed, message, exc, idempotent)
                    continue
                self._preferred = self._rotation.index(seed)
                return reply
            if not reached:
                raise NoNodeReachable(self._unreachable_message(last))
            if loop.time() + backoff >= deadline:
                raise self._timed_out(message, last)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _attempt_timeout(self, remaining: float, idempotent: bool) -> float:
        """A read gives up on one node after `read_timeout` and asks the next; a write waits
        until the deadline, since resending it could apply it twice."""
        return min(remaining, self.read_timeout) if idempotent else remaining

    def _after_failure(self, seed: _Seed, message: Any, exc: ActorsError, idempotent: bool) -> str:
        """Raise if `exc` must not be retried; else describe it for the final error message."""
        code = exc.code
        text = _remote_text(seed, exc)
        if isinstance(exc, AskTimeout) or code == ErrorCode.TIMEOUT:
            if isinstance(exc, AskTimeout):
                self._disconnect(seed)  # drops anything still queued to a dead node
            if not idempotent:
                raise Timeout(
                    f"{_kind(message)} sent to {seed.endpoint} did not complete in time ({text}): "
                    "its outcome is unknown (it may still commit); read back before retrying"
                )
            return f"{seed.endpoint}: {text}"
        if code not in RETRYABLE:
            raise Rejected(f"{seed.endpoint} rejected {_kind(message)}: {text}", code=code)
        return f"{seed.endpoint}: {code} ({text})"

    def _timed_out(self, message: Any, last: str) -> Timeout:
        return Timeout(f"{_kind(message)} did not complete within {self.timeout}s; last: {last}")

    def _unreachable_message(self, last: str) -> str:
        return (
            f"no node reachable at {','.join(self.addresses)} ({last}); check that the nodes "
            f"run and that --connect or ${CONNECT_ENV} names them"
        )

    def _in_turn(self) -> Iterator[_Seed]:
        """The configured nodes, starting with the one that answered last."""
        count = len(self._rotation)
        for offset in range(count):
            yield self._rotation[(self._preferred + offset) % count]

    async def _ask_once(self, endpoint: str, message: Any, expect: type[T]) -> T | None:
        """One attempt at the node at `endpoint` (not necessarily configured): None on failure."""
        bus = self._started()
        seed = self._seed(endpoint)
        if not await self._reachable(seed, self.connect_timeout):
            return None
        try:
            return await bus.ask(seed.address, message, timeout=self.read_timeout, expect=expect)
        except ActorsError as exc:
            if isinstance(exc, AskTimeout):
                self._disconnect(seed)
            return None

    # -- connections -------------------------------------------------------------------------

    def _seed(self, endpoint: str) -> _Seed:
        if endpoint not in self._seeds:
            self._seeds[endpoint] = _Seed(endpoint, alias=-1 - len(self._seeds))
        return self._seeds[endpoint]

    async def _reachable(self, seed: _Seed, remaining: float) -> bool:
        """Whether the node answers a Hello on its current connection; concurrent requests share
        one probe. Writes are sent only to nodes that answered, so a write never waits in the
        queue of a socket that has not connected and gets delivered after it was given up."""
        if seed.hello is not None:
            return True
        if seed.probe is None:
            timeout = min(self.connect_timeout, remaining)
            seed.probe = asyncio.ensure_future(self._probe(seed, timeout))
        probe = seed.probe
        try:
            return await asyncio.shield(probe)
        finally:
            if probe.done() and seed.probe is probe:
                seed.probe = None

    async def _probe(self, seed: _Seed, timeout: float) -> bool:
        bus = self._started()
        bus.add_peer(seed.address.node, seed.endpoint)  # a fresh connection
        try:
            seed.hello = await bus.ask(seed.address, Hello(), timeout=timeout, expect=HelloReply)
        except ActorsError:
            self._disconnect(seed)
            return False
        return True

    def _disconnect(self, seed: _Seed) -> None:
        seed.hello = None
        if self._bus is not None:
            self._bus.remove_peer(seed.address.node)

    def _started(self) -> Bus:
        if self._bus is None:
            raise RaftoralError(
                "the client is not started: use `async with Client(...)` or `await client.start()`"
            )
        return self._bus


_WORKFLOW_ERRORS: dict[str, type[Rejected]] = {
    cls.code: cls
    for cls in (
        UnknownWorkflow, UnknownVersion, InvalidInput, PayloadTooLarge, WorkflowConflict, NoSuchRun,
        VersionMissingOnMember,
    )
}  # fmt: skip


def _workflow_error(exc: Rejected) -> Rejected:
    """The specific error class of a node's rejection code."""
    cls = _WORKFLOW_ERRORS.get(exc.code)
    return exc if cls is None else cls(exc.message)


def _kind(message: Any) -> str:
    return type(message).__name__


def _remote_text(seed: _Seed, exc: ActorsError) -> str:
    """What went wrong, without the bus's "<alias>/router failed <Kind>: " prefix (the alias
    means nothing to a user) and naming no alias in a timeout."""
    if isinstance(exc, AskTimeout):
        return "no answer"
    prefix = f"{seed.address} failed "
    message = exc.message
    return message.split(": ", 1)[-1] if message.startswith(prefix) else message
