"""Membership with real processes: a 4th and a 5th node join while writes continue, after
compaction, so they catch up through snapshot transfer and are promoted; then a follower and
the leader are removed."""

from __future__ import annotations

import asyncio
import re
import urllib.request

from raftoral.wire import Ack, RemoveNode
from tests.process.cluster import ProcessCluster, wait_for
from tests.process.conftest import MakeCluster
from tests.process.test_crashes import WriteStream, check_all_present

NODES = (1, 2, 3)
SNAPSHOTS_RECEIVED = r'raftoral_snapshot_transfers_total\{cluster="1",direction="received"\}'


def scrape(cluster: ProcessCluster, slot: int, pattern: str) -> float:
    url = f"http://127.0.0.1:{cluster.metrics_ports[slot]}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    match = re.search(pattern + r" ([0-9.e+]+)", text)
    return float(match.group(1)) if match else 0.0


async def voters(cluster: ProcessCluster, slot: int) -> set[int]:
    info = await cluster.info(slot)
    return {m.node_id for m in info.members if m.role == "voter"}


async def test_join_after_compaction_then_remove_a_follower_and_the_leader(
    make_cluster: MakeCluster,
) -> None:
    cluster = make_cluster(5, extra=("--snapshot-entries", "50"))
    cluster.start_peers(NODES)
    await cluster.leader(NODES)
    stream = WriteStream(cluster, list(NODES))
    try:
        await stream.reach(200)  # the log is compacted several times over
        seeds = f"{cluster.address(1)},{cluster.address(2)}"
        for slot in (4, 5):
            cluster.start(slot, ["--join", seeds])
            await wait_for(lambda s=slot: cluster.node_id(s), 20, f"slot {slot} up")
        ids = {slot: await cluster.node_id(slot) for slot in (4, 5)}
        assert sorted(ids.values()) == [4, 5]  # allocated through the log, never colliding

        async def five_voters() -> bool:
            return len(await voters(cluster, await cluster.leader(NODES))) == 5

        await wait_for(five_voters, 30, "both joiners promoted to voters")
        await stream.reach(len(stream.acked) + 50)
    finally:
        acked = await stream.stop()
    all_slots = (1, 2, 3, 4, 5)
    await cluster.caught_up(all_slots)
    for slot in (4, 5):
        received = scrape(cluster, slot, SNAPSHOTS_RECEIVED)
        assert received >= 1, f"slot {slot} caught up without a snapshot"
    await check_all_present(cluster, (4, 5), acked)

    leader = await cluster.leader(all_slots)
    follower = next(s for s in NODES if s != leader)
    removed: Ack = await cluster.ask(leader, RemoveNode(follower), timeout=5)
    assert removed.node_id == follower
    remaining = tuple(s for s in all_slots if s != follower)
    assert follower not in await voters(cluster, leader)

    other = next(s for s in remaining if s != leader)
    await cluster.ask(other, RemoveNode(leader), timeout=5)  # forwarded to the leader itself
    rest = tuple(s for s in remaining if s != leader)
    new_leader = await cluster.leader(rest)
    assert new_leader != leader
    assert await voters(cluster, new_leader) == set(rest)
    await cluster.put(rest[0], "after-removals", b"ok")
    await asyncio.gather(*(cluster.get(s, "after-removals") for s in rest))
