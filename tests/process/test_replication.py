"""Three `raftoral node` processes: writes through any node are read back linearizably from every
node; a clean SIGTERM of the leader hands leadership over and loses nothing."""

from __future__ import annotations

from tests.process.conftest import MakeCluster

NODES = (1, 2, 3)


async def test_writes_through_any_node_are_read_linearizably_from_every_node(
    make_cluster: MakeCluster,
) -> None:
    cluster = make_cluster(3)
    cluster.start_peers(NODES)
    await cluster.leader(NODES)
    for round_ in range(3):
        for via in NODES:
            key = f"k{via}"
            value = f"v{round_}-{via}".encode()
            await cluster.put(via, key, value)
            for reader in NODES:  # a ReadIndex read on any node sees the acknowledged write
                got = await cluster.get(reader, key)
                assert got.found and got.value == value, (reader, key, got)


async def test_sigterm_of_the_leader_hands_leadership_over(make_cluster: MakeCluster) -> None:
    cluster = make_cluster(3)
    cluster.start_peers(NODES)
    leader = await cluster.leader(NODES)
    for i in range(20):
        await cluster.put(1 + i % 3, f"key{i}", b"x")
    assert cluster.terminate(leader) == 0
    assert "leadership hand-over at shutdown failed" not in cluster.log(leader)
    rest = [n for n in NODES if n != leader]
    new_leader = await cluster.leader(rest, within=5.0)
    assert new_leader != leader
    for i in range(20):
        assert (await cluster.get(rest[0], f"key{i}")).found
