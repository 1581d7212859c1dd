"""Raft §7: log compaction — snapshots taken at the applied index, and a follower behind the
compacted log catching up by a chunked, resumable InstallSnapshot with bounded memory."""

from __future__ import annotations

import pytest

from raftoral.errors import CompactedError
from raftoral.raft.snapshot_transfer import SnapshotReceiver
from raftoral.raft.types import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Message,
    MsgType,
    Role,
    Snapshot,
    SnapshotChunk,
    SnapshotMeta,
)
from raftoral.storage.memory import MemoryStorage
from tests.unit.raft.helpers import Network, decode_state, of_type

CHUNK = 1000
WINDOW = 2


def behind_cluster(entries: int = 40, size: int = 200) -> Network:
    """Leader 1 has compacted `entries` entries of `size` bytes that follower 3 never saw."""
    net = Network(max_snapshot_chunk=CHUNK, snapshot_window=WINDOW)
    leader = net.elect(1)
    net.isolate(3)
    for n in range(entries):
        leader.propose(b"%03d" % n + b"x" * (size - 3))
    net.stabilize()
    net.tick(1)
    net.compact(1)
    net.heal()
    return net


def snaps(net: Network, start: int = 0) -> list[Message]:
    return of_type(net.sent[start:], MsgType.SNAP)


def test_compaction_drops_the_log_up_to_the_snapshot() -> None:
    net = Network()
    leader = net.elect(1)
    for n in range(5):
        leader.propose(b"%d" % n)
    net.stabilize()
    index = net.compact(1)
    storage = net.storages[1]
    assert storage.first_index() == index + 1
    assert storage.snapshot().meta.conf == ConfState(voters=(1, 2, 3))
    assert decode_state(storage.snapshot().data) == net.applied[1]
    with pytest.raises(CompactedError):
        storage.entries(index, index + 1)
    assert leader.log_term(index) == leader.term  # the snapshot's own index keeps its term
    assert leader.log_term(index - 1) == 0
    leader.propose(b"more")
    net.stabilize()
    assert net.data_applied(2)[-1] == b"more"


def test_follower_behind_the_compacted_log_gets_the_snapshot_in_chunks() -> None:
    net = behind_cluster()
    start = len(net.sent)
    net.tick(1)
    size = len(net.storages[1].snapshot().data)
    chunks = snaps(net, start)
    assert len(chunks) == -(-size // CHUNK)  # each byte sent once
    assert all(len(m.snapshot.data) <= CHUNK for m in chunks if m.snapshot)
    assert [m.offset for m in chunks] == list(range(0, size, CHUNK))
    assert chunks[-1].done and not any(m.done for m in chunks[:-1])
    follower = net.cores[3]
    assert net.storages[3].snapshot().data == net.storages[1].snapshot().data
    assert net.applied[3] == net.applied[1]
    assert follower.commit_index >= net.storages[1].snapshot().meta.index
    stats = net.cores[1].status().snapshots
    assert (stats.sent, stats.sent_bytes) == (1, size)
    assert (follower.status().snapshots.received, follower.status().snapshots.received_bytes) \
        == (1, size)


def test_memory_is_bounded_by_chunk_size_and_window() -> None:
    net = behind_cluster()
    net.tick(1)
    leader_readies = [rd for rd in net.readies[1] if of_type(rd.messages, MsgType.SNAP)]
    assert leader_readies
    assert max(len(of_type(rd.messages, MsgType.SNAP)) for rd in leader_readies) <= WINDOW
    follower_chunks = [c for rd in net.readies[3] for c in rd.snapshot_chunks]
    assert follower_chunks and max(len(c.data) for c in follower_chunks) <= CHUNK
    assert max(len(rd.snapshot_chunks) for rd in net.readies[3]) <= WINDOW


def test_install_then_continue_replicating() -> None:
    net = behind_cluster()
    net.tick(1)
    leader = net.cores[1]
    leader.propose(b"after")
    net.stabilize()
    assert net.data_applied(3)[-1] == b"after"
    assert net.log_terms(3)[-1] == net.log_terms(1)[-1]
    assert leader.status().progress[3].state.name == "REPLICATE"


def test_lost_chunks_are_resent_after_a_silent_heartbeat() -> None:
    net = behind_cluster()
    lost = {"n": 0}

    def drop_two(m: Message) -> bool:
        if m.type == MsgType.SNAP and m.offset and lost["n"] < 2:
            lost["n"] += 1
            return True
        return False

    net.drop = drop_two
    net.tick(1, 6)
    assert net.applied[3] == net.applied[1]


def test_transfer_resumes_from_the_staged_size_after_a_follower_restart() -> None:
    net = behind_cluster()
    staged_chunks = 3
    net.drop = lambda m: m.type == MsgType.SNAP and m.offset >= staged_chunks * CHUNK
    net.tick(1)
    assert net.storages[3].staged_snapshot() is not None
    assert net.storages[3].staged_snapshot().size == staged_chunks * CHUNK
    net.restart(3)
    net.drop = lambda m: False
    start = len(net.sent)
    net.tick(1, 3)
    resent = snaps(net, start)
    assert resent and min(m.offset for m in resent) == staged_chunks * CHUNK
    assert net.applied[3] == net.applied[1]


def test_a_different_leader_starts_the_transfer_over() -> None:
    net = behind_cluster()
    net.drop = lambda m: m.type == MsgType.SNAP and m.offset >= 2 * CHUNK
    net.tick(1)
    assert net.storages[3].staged_snapshot().size == 2 * CHUNK
    net.drop = lambda m: False
    net.compact(2)  # node 2's snapshot may differ byte for byte: its chunks never mix in
    net.isolate(1)
    start = len(net.sent)
    net.elect(2)
    net.heal()
    net.tick(2, 3)
    from_two = snaps(net, start)
    assert from_two and from_two[0].offset == 0 and from_two[0].sender == 2
    assert net.applied[3] == net.applied[2]
    assert net.cores[1].role == Role.FOLLOWER


def test_same_leader_in_a_new_term_resumes_from_the_staged_size() -> None:
    net = behind_cluster()
    net.drop = lambda m: m.type == MsgType.SNAP and m.offset >= 2 * CHUNK
    net.tick(1)
    net.drop = lambda m: False
    term = net.cores[1].term
    start = len(net.sent)
    net.cores[1]._become_follower(term, 0)  # e.g. check-quorum made it step down
    net.elect(1)
    assert net.cores[1].term == term + 1
    resumed = [m.offset for m in snaps(net, start) if m.term == term + 1]
    assert resumed[:3] == [0, 2 * CHUNK, 3 * CHUNK]  # one probing chunk, then from the staging
    net.tick(1, 2)
    assert net.applied[3] == net.applied[1]


def test_leader_change_aborts_the_transfer() -> None:
    net = behind_cluster()
    net.drop = lambda m: m.type == MsgType.SNAP and m.offset >= CHUNK
    net.tick(1)
    net.drop = lambda m: False
    net.isolate(1)
    net.elect(2)
    net.heal()
    net.tick(2, 2)
    assert net.cores[1].role == Role.FOLLOWER
    assert net.cores[1].status().progress == {}  # its transfer state is gone
    assert net.applied[3][-1] == net.applied[2][-1]


def test_restart_after_install_keeps_snapshot_and_config() -> None:
    net = behind_cluster()
    net.tick(1)
    net.cores[1].propose(b"tail")
    net.stabilize()
    before = list(net.applied[3])
    core = net.restart(3)
    assert core.conf == ConfState(voters=(1, 2, 3))
    net.tick(1, 2)
    assert net.applied[3] == before


def test_new_node_catches_up_from_a_snapshot_that_carries_the_config() -> None:
    net = Network(max_snapshot_chunk=CHUNK, snapshot_window=WINDOW)
    leader = net.elect(1)
    for n in range(20):
        leader.propose(b"%d" % n * 50)
    net.stabilize()
    net.tick(1)
    net.compact(1)
    fresh = net.add_node(4)
    leader.propose_conf_change(ConfChange(ConfChangeType.ADD_LEARNER, 4))
    net.stabilize()
    net.tick(1, 2)
    assert fresh.conf == ConfState(voters=(1, 2, 3), learners=(4,))
    assert net.applied[4] == net.applied[1]
    assert net.storages[4].snapshot().meta.conf == ConfState(voters=(1, 2, 3))


def test_stale_snapshot_is_answered_with_the_commit_index() -> None:
    net = behind_cluster()
    net.tick(1)
    follower = net.cores[3]
    meta = net.storages[1].snapshot_meta()
    follower.step(Message(MsgType.SNAP, 3, 1, follower.term, snapshot=Snapshot(meta, b"zz"),
                          done=True))
    rd = follower.ready()
    assert rd.snapshot is None and rd.snapshot_chunks == ()
    (resp,) = rd.messages_after_persist
    assert (resp.type, resp.index) == (MsgType.APP_RESP, follower.commit_index)


def test_a_stale_chunk_between_two_readies_does_not_forget_unpersisted_chunks() -> None:
    """Simulator seed 86 (issue 5): chunks of snapshot B were handed out in a Ready not yet
    persisted when a delayed chunk of an older snapshot A arrived; the next chunk of B re-read
    the durable staging and was staged twice (a gap error in storage)."""
    storage = MemoryStorage()
    storage.bootstrap(ConfState(voters=(1, 2)))
    receiver = SnapshotReceiver(storage)
    old, new = SnapshotMeta(6, 1, ConfState((1, 2))), SnapshotMeta(11, 5, ConfState((1, 2)))
    assert receiver.offer(SnapshotChunk(new, 2, 0, b"a" * 16))
    for chunk in receiver.take_pending():
        storage.stage_snapshot_chunk(chunk)  # persisted: 16 bytes staged
    assert receiver.offer(SnapshotChunk(new, 2, 16, b"b" * 16))
    in_ready = receiver.take_pending()  # handed out, not yet persisted
    assert not receiver.offer(SnapshotChunk(old, 2, 112, b"c" * 16))  # a gap: rewind
    assert receiver.offer(SnapshotChunk(new, 2, 16, b"b" * 16))  # a duplicate: nothing new
    assert receiver.offer(SnapshotChunk(new, 2, 32, b"d" * 16))
    for chunk in in_ready + receiver.take_pending():
        storage.stage_snapshot_chunk(chunk)
    staged = storage.staged_snapshot()
    assert staged is not None and (staged.meta, staged.size) == (new, 48)
