"""A minority partition (the fault-injection hook, switched by SetFaults) cannot commit; the
majority elects a new leader and commits; after healing, the minority converges."""

from __future__ import annotations

import pytest

from actors import AskTimeout, RemoteError
from raftoral.wire import FaultRule, KvPut, SetFaults
from tests.process.cluster import ProcessCluster, wait_for
from tests.process.conftest import MakeCluster

NODES = (1, 2, 3)


async def isolate(cluster: ProcessCluster, alone: int, node_ids: dict[int, int]) -> None:
    """Cut every link between `alone` and the others, both ways."""
    for slot in NODES:
        peers = [s for s in NODES if s != slot] if slot == alone else [alone]
        rules = tuple(FaultRule(node_ids[p]) for p in peers)
        await cluster.ask(slot, SetFaults(rules))


async def test_minority_cannot_commit_and_converges_after_healing(
    make_cluster: MakeCluster,
) -> None:
    cluster = make_cluster(3)
    cluster.start_peers(NODES)
    old = await cluster.leader(NODES)
    await cluster.put(old, "before", b"1")
    await isolate(cluster, old, {slot: slot for slot in NODES})
    with pytest.raises((RemoteError, AskTimeout)):  # the old leader cannot reach a quorum
        await cluster.ask(old, KvPut("minority", b"x"), timeout=1.5)
    majority = [s for s in NODES if s != old]
    new = await cluster.leader(majority)
    await cluster.put(new, "majority", b"2")

    for slot in NODES:
        await cluster.ask(slot, SetFaults())  # heal

    async def converged() -> bool:
        info = await cluster.info(old)
        return info.role == "follower" and info.leader == new

    await wait_for(converged, 10, "the old leader to follow the new one")
    await cluster.caught_up(NODES)
    for slot in NODES:
        assert (await cluster.get(slot, "majority")).value == b"2"
        assert not (await cluster.get(slot, "minority")).found  # never committed


async def test_a_write_forwarded_to_a_deposed_leader_is_answered_when_it_loses_office(
    make_cluster: MakeCluster,
) -> None:
    """A follower forwards a write to the leader, which is then cut off: once the follower learns
    of the new leader it answers `timeout` (outcome unknown) instead of waiting out the forward."""
    cluster = make_cluster(3)
    cluster.start_peers(NODES)
    old = await cluster.leader(NODES)
    entry = next(slot for slot in NODES if slot != old)
    await cluster.put(old, "before", b"1")
    await isolate(cluster, old, {slot: slot for slot in NODES})
    with pytest.raises(RemoteError) as raised:
        await cluster.ask(entry, KvPut("during", b"x"), timeout=30.0)
    assert raised.value.code == "timeout"
    assert f"node {old} lost its leadership before answering" in str(raised.value)
    await cluster.leader([slot for slot in NODES if slot != old])
