"""The Python client against real node processes: failover past a dead address, a clear error
when no node answers, reads failing over, and a write of unknown outcome surfaced, not resent."""

from __future__ import annotations

import pytest

import raftoral
from raftoral.errors import NoNodeReachable, Timeout
from raftoral.wire import FaultRule, SetFaults
from tests.client.conftest import NODES, dead_address
from tests.process.cluster import ProcessCluster


async def test_fails_over_past_a_dead_first_address(cluster3: ProcessCluster) -> None:
    async with raftoral.Client([dead_address(), cluster3.address(2)]) as client:
        index = await client.kv_put("colour", "blue")
        assert index > 0
        assert await client.kv_get("colour") == b"blue"
        assert await client.kv_delete("colour") is True
        assert await client.kv_get("colour", linearizable=False) is None
        assert await client.kv_delete("colour") is False


async def test_no_node_reachable_is_a_clear_error() -> None:
    addresses = [dead_address(), dead_address()]
    async with raftoral.Client(addresses, connect_timeout=0.3) as client:
        with pytest.raises(NoNodeReachable) as raised:
            await client.kv_get("anything")
    assert raised.value.code == "unreachable"
    assert all(address in raised.value.message for address in addresses)


async def test_cluster_info_lists_every_member_with_one_leader(cluster3: ProcessCluster) -> None:
    async with raftoral.Client([cluster3.address(3)]) as client:
        views = await client.cluster_info()
    assert [view.node_id for view in views] == list(NODES)
    leaders = [view.node_id for view in views if view.role == "leader"]
    assert len(leaders) == 1
    assert {view.leader for view in views} == set(leaders)


async def test_read_fails_over_and_write_of_unknown_outcome_is_not_resent(
    cluster3: ProcessCluster,
) -> None:
    leader = await cluster3.leader(NODES)
    isolated = next(slot for slot in NODES if slot != leader)
    drop_all = SetFaults(tuple(FaultRule(peer) for peer in NODES if peer != isolated))
    await cluster3.ask(isolated, drop_all)  # its forwards and ReadIndex never reach the leader
    await cluster3.put(leader, "k", b"v")
    addresses = [cluster3.address(isolated), cluster3.address(leader)]
    async with raftoral.Client(addresses, timeout=3.0, read_timeout=0.5) as client:
        assert await client.kv_get("k") == b"v"  # the isolated node timed out; the leader answered
    async with raftoral.Client(addresses, timeout=1.0) as client:
        with pytest.raises(Timeout) as raised:
            await client.kv_put("k", "w")
    assert "outcome is unknown" in raised.value.message
    assert (await cluster3.get(leader, "k")).value == b"v"  # not resent through the leader


async def test_a_connection_dropped_by_a_concurrent_request_is_reprobed_not_raised(
    cluster3: ProcessCluster,
) -> None:
    """One request's timeout drops the node's connection while another request, already past
    its probe, is about to send: that one re-probes instead of failing with UnknownPeer."""
    async with raftoral.Client([cluster3.address(1)]) as client:
        assert await client.kv_put("before", "1") > 0
        seed = client._seeds[cluster3.address(1)]
        assert seed.hello is not None  # probed: requests go straight to bus.ask
        client._started().remove_peer(seed.address.node)  # what a concurrent timeout does
        assert await client.kv_put("after", "2") > 0
        assert await client.kv_get("after") == b"2"
