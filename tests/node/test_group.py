"""The router and a one-node Raft group on an in-process bus with a ManualClock: elections by
ticks, writes acked after apply, ReadIndex reads, compaction, recovery, and the router's errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from actors import Address, Bus, ManualClock, RemoteError
from raftoral.metrics import raft_metrics_for
from raftoral.node.config import RaftTiming
from raftoral.node.group import RaftGroupActor
from raftoral.node.persist import Writer
from raftoral.node.router import ClusterRouterActor, RouterInfo
from raftoral.raft.types import ConfState, Message, MsgType
from raftoral.storage import SqliteStorage
from raftoral.wire import (
    ROUTER,
    ClusterInfo,
    ClusterInfoRequest,
    ErrorCode,
    Hello,
    HelloReply,
    KvGet,
    KvPut,
    KvValue,
    KvWritten,
    RaftBatch,
    group_actor,
)

TIMING = RaftTiming(tick_interval=0.01, election_tick=5, heartbeat_tick=1, snapshot_entries=20)


class OneNode:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.clock = ManualClock()
        self.registry = CollectorRegistry()

    async def start(self) -> None:
        self.storage = SqliteStorage(self.path)
        if self.storage.last_index() == 0:
            self.storage.bootstrap(ConfState(voters=(1,)))
        self.writer = Writer("test-writer")
        self.bus = await Bus(1, clock=self.clock, registry=self.registry).start()
        info = RouterInfo("uid", "127.0.0.1:1", {1: group_actor(1)})
        await self.bus.spawn(ClusterRouterActor(info), ROUTER)
        self.group = RaftGroupActor(
            cluster=1, cluster_uid="uid", listen="127.0.0.1:1",
            storage=self.storage, writer=self.writer, timing=TIMING,
            metrics=raft_metrics_for(self.registry).group(1),
        )  # fmt: skip
        await self.bus.spawn(self.group, group_actor(1))

    async def stop(self) -> None:
        await self.bus.close()
        self.writer.close()
        self.storage.close()

    async def ask(self, message: object) -> object:
        task = asyncio.ensure_future(self.bus.ask(Address(1, ROUTER), message, timeout=60))
        while not task.done():  # let ticks and the writer thread move
            self.clock.advance(TIMING.tick_interval)
            await asyncio.sleep(0.001)  # noqa: sleep-ok lets the writer thread run; bounded by the ask deadline on the manual clock
        return task.result()

    async def elect(self) -> None:
        for _ in range(1000):
            info = await self.ask(ClusterInfoRequest())
            assert isinstance(info, ClusterInfo)
            if info.role == "leader":
                return
        raise AssertionError("no leader")


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[OneNode]:
    one = OneNode(tmp_path / "raft.sqlite")
    await one.start()
    yield one
    await one.stop()


async def test_router_answers_hello_and_refuses_unknown_clusters(node: OneNode) -> None:
    hello = await node.ask(Hello())
    assert hello == HelloReply(1, "uid", "127.0.0.1:1", (1,))
    with pytest.raises(RemoteError) as err:
        await node.ask(KvPut("k", b"v", cluster=7))
    assert err.value.code == ErrorCode.NO_SUCH_CLUSTER


async def test_no_leader_yet_is_a_clear_error(node: OneNode) -> None:
    with pytest.raises(RemoteError) as err:
        await node.bus.ask(Address(1, ROUTER), KvPut("k", b"v"), timeout=1)
    assert err.value.code == ErrorCode.NO_LEADER


async def test_writes_are_acked_after_apply_and_read_linearizably(node: OneNode) -> None:
    await node.elect()
    written = await node.ask(KvPut("a", b"1"))
    assert isinstance(written, KvWritten) and written.index > 0
    value = await node.ask(KvGet("a"))
    assert value == KvValue(True, b"1", value.index) and value.index >= written.index
    missing = await node.ask(KvGet("nope", linearizable=False))
    assert isinstance(missing, KvValue) and not missing.found


async def test_log_is_compacted_and_state_recovers_after_restart(node: OneNode) -> None:
    await node.elect()
    for i in range(60):
        await node.ask(KvPut(f"k{i}", str(i).encode()))
    assert node.storage.first_index() > 20  # compacted at least once
    await node.stop()
    await node.start()
    await node.elect()
    for i in range(0, 60, 7):
        got = await node.ask(KvGet(f"k{i}"))
        assert isinstance(got, KvValue) and got.value == str(i).encode()


async def test_a_bad_peer_message_is_dropped_not_fatal(node: OneNode) -> None:
    await node.elect()
    bogus = Message(MsgType.HEARTBEAT, 1, 9, term=0, commit=10_000)  # stale term: ignored
    lost = Message(MsgType.APP, 1, 9, term=10**6, index=10**6, log_term=1, commit=10**7)
    await node.bus.send(Address(1, group_actor(1)), RaftBatch(1, (bogus, lost)))
    await node.bus.send(Address(1, group_actor(1)), RaftBatch(2, (bogus,)))  # other cluster
    info = await node.ask(ClusterInfoRequest())
    assert isinstance(info, ClusterInfo)  # still serving
