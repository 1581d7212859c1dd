"""SIGKILL: the leader during a stream of writes, then all three nodes. Every acknowledged write
survives, and a restarted node catches up."""

from __future__ import annotations

import asyncio
import contextlib
import itertools

from actors import AskTimeout, RemoteError
from raftoral.wire import KvPut
from tests.process.cluster import ProcessCluster, wait_for
from tests.process.conftest import MakeCluster

NODES = (1, 2, 3)


class WriteStream:
    """Writes keys one at a time through the nodes in `via` in turn (the test may change it),
    recording the acknowledged ones; failed writes are simply not recorded."""

    def __init__(self, cluster: ProcessCluster, via: list[int]) -> None:
        self.cluster = cluster
        self.via = via
        self.acked: list[str] = []
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        for i in itertools.count():
            key = f"s{i}"
            with contextlib.suppress(RemoteError, AskTimeout):
                await self.cluster.ask(self.via[i % len(self.via)], KvPut(key, b"v"))
                self.acked.append(key)
            await asyncio.sleep(0)  # noqa: sleep-ok yields between writes (no timing)

    async def reach(self, count: int, within: float = 20.0) -> None:
        async def enough() -> bool:
            return len(self.acked) >= count

        await wait_for(enough, within, f"{count} acknowledged writes")

    async def stop(self) -> list[str]:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        return self.acked


async def check_all_present(
    cluster: ProcessCluster, slots: tuple[int, ...], keys: list[str]
) -> None:
    for slot in slots:
        for key in keys:
            assert (await cluster.get(slot, key, linearizable=False)).found, (slot, key)


async def test_sigkill_leader_during_writes_loses_no_acknowledged_write(
    make_cluster: MakeCluster,
) -> None:
    cluster = make_cluster(3)
    cluster.start_peers(NODES)
    leader = await cluster.leader(NODES)
    stream = WriteStream(cluster, list(NODES))
    try:
        await stream.reach(100)
        cluster.kill(leader)
        stream.via.remove(leader)
        rest = tuple(stream.via)
        assert await cluster.leader(rest) != leader
        await stream.reach(len(stream.acked) + 100)
    finally:
        acked = await stream.stop()
    cluster.restart(leader)
    await cluster.caught_up(NODES)
    await check_all_present(cluster, NODES, acked)


async def test_sigkill_all_three_and_restart_keeps_every_acknowledged_write(
    make_cluster: MakeCluster,
) -> None:
    cluster = make_cluster(3)
    cluster.start_peers(NODES)
    await cluster.leader(NODES)
    stream = WriteStream(cluster, list(NODES))
    try:
        await stream.reach(150)
        for slot in NODES:  # while writes are in flight
            cluster.kill(slot)
    finally:
        acked = await stream.stop()
    for slot in NODES:
        cluster.restart(slot)
    await cluster.leader(NODES)
    await cluster.caught_up(NODES)
    await check_all_present(cluster, NODES, acked)
