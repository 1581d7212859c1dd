"""The composite state machine, the KV service and the cluster service: apply, snapshot, restore."""

from __future__ import annotations

import pytest

from raftoral.errors import RaftoralError
from raftoral.node import cluster_state, kv
from raftoral.node.cluster_state import AllocateId, ClusterState, SetAddresses
from raftoral.node.kv import KvStateMachine
from raftoral.node.state_machine import CompositeStateMachine, encode_command
from raftoral.raft.types import ConfChange, ConfChangeType


def machine() -> tuple[CompositeStateMachine, KvStateMachine, ClusterState]:
    store, cluster = KvStateMachine(), ClusterState()
    services = {kv.SERVICE: store, cluster_state.SERVICE: cluster}
    return CompositeStateMachine(services), store, cluster


def put(key: str, value: bytes) -> bytes:
    return encode_command(kv.SERVICE, kv.encode(kv.Put(key, value)))


def test_commands_are_routed_by_service_tag() -> None:
    sm, store, cluster = machine()
    assert sm.apply(1, put("a", b"1")) is False  # did not exist
    assert sm.apply(2, put("a", b"2")) is True
    assert sm.apply(3, encode_command(kv.SERVICE, kv.encode(kv.Delete("a")))) is True
    assert store.get("a") is None
    body = cluster_state.encode(SetAddresses({7: "h:1"}))
    sm.apply(4, encode_command(cluster_state.SERVICE, body))
    assert cluster.addresses == {7: "h:1"}


def test_unknown_service_and_garbage_are_clear_errors() -> None:
    sm, _, _ = machine()
    with pytest.raises(RaftoralError, match="workflow"):
        sm.apply(1, encode_command("workflow", b""))
    with pytest.raises(RaftoralError, match="not a command"):
        sm.apply(2, b"\xff\x00garbage")


def test_snapshot_restores_every_service() -> None:
    sm, _, _ = machine()
    for i in range(10):
        sm.apply(i + 1, put(f"k{i}", bytes([i])))
    sm.apply(11, encode_command(cluster_state.SERVICE, cluster_state.encode(AllocateId(3))))
    data = sm.snapshot()
    copy, store, cluster = machine()
    copy.restore(data)
    assert store.data == {f"k{i}": bytes([i]) for i in range(10)}
    assert cluster.apply(12, cluster_state.encode(AllocateId(1))) == 4  # the counter survived
    copy.restore(b"")
    assert store.data == {}


def test_node_ids_never_collide_with_members_or_earlier_allocations() -> None:
    cluster = ClusterState()
    assert cluster.apply(1, cluster_state.encode(AllocateId(4))) == 4
    assert cluster.apply(2, cluster_state.encode(AllocateId(1))) == 5
    cluster.apply_conf_change(ConfChange(ConfChangeType.ADD_LEARNER, 9, b"127.0.0.1:9"))
    assert cluster.addresses[9] == "127.0.0.1:9"
    assert cluster.apply(3, cluster_state.encode(AllocateId(1))) == 10
    cluster.apply_conf_change(ConfChange(ConfChangeType.REMOVE_NODE, 9))
    assert 9 not in cluster.addresses
