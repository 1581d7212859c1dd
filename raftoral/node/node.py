"""Node: one raftoral process's node — identity, storage, the bus with its router and Raft group,
metrics; `Node.start(config)` brings it up (bootstrap, peers or join), `stop()` shuts it down."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from actors import Address, Bus
from raftoral.handles import WorkflowHandle
from raftoral.metrics import raft_metrics_for, serve_metrics
from raftoral.node import identity
from raftoral.node.config import ConfigError, NodeConfig
from raftoral.node.executor import WorkflowExecutorActor
from raftoral.node.group import RaftGroupActor, StepDown
from raftoral.node.identity import Identity
from raftoral.node.join import ask_seeds
from raftoral.node.persist import Writer
from raftoral.node.router import ClusterRouterActor, RouterInfo
from raftoral.raft.types import ConfState
from raftoral.storage import SqliteStorage
from raftoral.wire import (
    DEFAULT_CLUSTER,
    EXECUTOR,
    ROUTER,
    AllocateNodeId,
    ClusterInfo,
    ClusterInfoRequest,
    Hello,
    HelloReply,
    JoinCluster,
    Joined,
    NodeIdAllocated,
    group_actor,
)
from raftoral.workflow import App
from raftoral.workflow.commands import SetRetention

log = structlog.get_logger("raftoral.node")

JOIN_WITHIN = 60.0  # seconds a joining node keeps trying its seeds
LOG_FILE = "raft-{cluster}.sqlite"


class Node:
    """A running node. Create it with `await Node.start(config)`; stop it with `await stop()`."""

    def __init__(
        self,
        config: NodeConfig,
        ident: Identity,
        bus: Bus,
        storage: SqliteStorage,
        writer: Writer,
        app: App | None = None,
    ) -> None:
        self.config = config
        self.executor = WorkflowExecutorActor(app)
        self.identity = ident
        self.bus = bus
        self._storage = storage
        self._writer = writer
        self._join_task: asyncio.Task[None] | None = None
        self._stop_metrics: Any = None

    @property
    def node_id(self) -> int:
        return self.identity.node_id

    @property
    def cluster_uid(self) -> str:
        return self.identity.cluster_uid

    @classmethod
    async def start(
        cls,
        config: NodeConfig,
        app: App | None = None,
        *,
        registry: CollectorRegistry | None = None,
    ) -> Node:
        """Start a node (first start or restart from its data dir); it runs the workflows of
        `app` (without one it replicates and routes but runs no workflows)."""
        config.validate()
        ident = await _resolve_identity(config)
        path = config.path
        storage = SqliteStorage(path / LOG_FILE.format(cluster=DEFAULT_CLUSTER))
        try:
            _bootstrap_if_new(storage, config, ident.node_id)
        except BaseException:
            storage.close()
            raise
        bus = Bus(ident.node_id, listen=config.listen, registry=registry)
        writer = Writer(f"raft-writer-{ident.node_id}")
        node = cls(config, ident, bus, storage, writer, app)
        try:
            await node._run(registry)
        except BaseException:
            await node.stop()
            raise
        return node

    async def _run(self, registry: CollectorRegistry | None) -> None:
        config, bus = self.config, self.bus
        await bus.start()
        for node_id, address in config.peers.items():
            if node_id != self.node_id:
                bus.add_peer(node_id, address)
        name = group_actor(DEFAULT_CLUSTER)
        info = RouterInfo(self.cluster_uid, config.listen, {DEFAULT_CLUSTER: name})
        await bus.spawn(ClusterRouterActor(info), ROUTER)
        await bus.spawn(self.executor, EXECUTOR)
        group = RaftGroupActor(
            cluster=DEFAULT_CLUSTER,
            cluster_uid=self.cluster_uid,
            listen=config.listen,
            storage=self._storage,
            writer=self._writer,
            timing=config.timing,
            metrics=raft_metrics_for(registry).group(DEFAULT_CLUSTER),
            services=self.executor.services,
        )
        await bus.spawn(group, name)
        if config.metrics_port is not None:
            self._stop_metrics = serve_metrics(config.metrics_port, registry=registry)
        if config.join:
            self._join_task = asyncio.ensure_future(self._join())
        log.info("node started", node=self.node_id, listen=config.listen, cluster=self.cluster_uid)

    async def _join(self) -> None:
        """Ask the seeds to add this node as a learner (idempotent), then connect to members."""
        request = JoinCluster(self.node_id, self.config.listen)
        try:
            joined = await ask_seeds(self.config.join, request, expect=Joined, within=JOIN_WITHIN)
        except Exception as exc:
            log.error("joining the cluster failed", error=str(exc))
            return
        for member in joined.members:
            known = self.bus.peers.get(member.node_id)
            if member.node_id != self.node_id and member.address and known != member.address:
                self.bus.add_peer(member.node_id, member.address)
        log.info("joined the cluster as a learner", node=self.node_id)

    async def info(self, timeout: float = 5.0) -> ClusterInfo:
        """This node's view of cluster 1."""
        router = Address(self.node_id, ROUTER)
        return await self.bus.ask(router, ClusterInfoRequest(), timeout=timeout, expect=ClusterInfo)

    async def start_workflow(
        self, name: str, input: Any, *, version: int | None = None, workflow_id: str | None = None
    ) -> WorkflowHandle:
        """Start workflow `name` owned by this node; returns once the start is committed."""
        return await self.executor.start_workflow(
            name, input, version=version, workflow_id=workflow_id
        )

    async def set_workflow_retention(self, *, max_finished: int, max_age_s: float) -> None:
        """How many finished runs the cluster remembers, and for how long (seconds on the
        workflows' own start/end timestamps). Replicated: every node evicts the same runs."""
        if max_finished < 0 or max_age_s < 0:
            raise ValueError("max_finished and max_age_s must be >= 0")
        await self.executor.propose_idempotent(SetRetention(max_finished, int(max_age_s * 1000)))

    async def stop(self) -> None:
        """A leader hands leadership over first (bounded wait); then everything closes."""
        if self._join_task is not None:
            self._join_task.cancel()
        timeout = self.config.timing.shutdown_transfer_timeout
        group = Address(self.node_id, group_actor(DEFAULT_CLUSTER))
        if group.name in self.bus.actors:
            try:
                await self.bus.ask(group, StepDown(timeout), timeout=timeout + 1.0)
            except Exception as exc:
                log.warning("leadership hand-over at shutdown failed", error=str(exc))
        await self.bus.close()
        await asyncio.to_thread(self._writer.close)
        self._storage.close()
        if self._stop_metrics is not None:
            self._stop_metrics()
            self._stop_metrics = None
        log.info("node stopped", node=self.node_id)


async def _resolve_identity(config: NodeConfig) -> Identity:
    """The identity in the data dir (checked against the flags), or a new one written there."""
    path = Path(config.data_dir)
    path.mkdir(parents=True, exist_ok=True)
    found = identity.load(path)
    expected_uid = identity.peers_cluster_uid(config.peers) if config.peers else None
    if found is not None:
        if config.join and expected_uid is None:
            expected_uid = await _seed_uid(config)
        identity.check(found, config.node_id, expected_uid, path)
        return found
    if config.bootstrap:
        assert config.node_id is not None
        ident = Identity(config.node_id, identity.new_cluster_uid())
    elif config.peers:
        assert config.node_id is not None and expected_uid is not None
        ident = Identity(config.node_id, expected_uid)
    elif config.node_id is not None:
        uid = await _seed_uid(config)
        if uid is None:
            raise ConfigError(f"no seed of {', '.join(config.join)} answered; is the cluster up?")
        ident = Identity(config.node_id, uid)
    else:
        allocated = await ask_seeds(
            config.join, AllocateNodeId(), expect=NodeIdAllocated, within=JOIN_WITHIN
        )
        ident = Identity(allocated.node_id, allocated.cluster_uid)
        log.info("node id allocated by the cluster", node=ident.node_id)
    identity.save(path, ident)
    return ident


async def _seed_uid(config: NodeConfig) -> str | None:
    """The cluster uid the seeds report (None when none answers quickly)."""
    try:
        hello = await ask_seeds(config.join, Hello(), expect=HelloReply, within=3.0, timeout=1.0)
    except ConfigError:
        return None
    return hello.cluster_uid


def _bootstrap_if_new(storage: SqliteStorage, config: NodeConfig, node_id: int) -> None:
    """A new data dir of a --bootstrap or --peers node records its initial configuration; a
    joining node starts empty (the leader sends it the log or a snapshot)."""
    hard_state, conf = storage.initial_state()
    is_new = storage.last_index() == 0 and hard_state.term == 0 and conf == ConfState()
    if not is_new or config.join:
        return
    voters = (node_id,) if config.bootstrap else tuple(sorted(config.peers))
    storage.bootstrap(ConfState(voters=voters))
