"""Value types of the pure Raft core: entries, hard state, configuration, snapshots, messages,
Ready.

All are frozen msgspec Structs so the node can put them on the wire unchanged.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Protocol

import msgspec


class EntryKind(IntEnum):
    """What an entry carries. NORMAL with empty data is the leader's no-op of a new term."""

    NORMAL = 0
    CONF_CHANGE = 1


class Entry(msgspec.Struct, frozen=True, array_like=True):
    """One log entry. Index 1 is the first entry; index 0 and term 0 mean "before the log"."""

    term: int
    index: int
    kind: EntryKind = EntryKind.NORMAL
    data: bytes = b""


class HardState(msgspec.Struct, frozen=True, array_like=True):
    """State that must be durable before any message depending on it is sent."""

    term: int = 0
    vote: int = 0  # 0 means "voted for nobody in this term"
    commit: int = 0


class ConfState(msgspec.Struct, frozen=True, array_like=True):
    """The cluster configuration: voting members and non-voting learners (node ids, > 0)."""

    voters: tuple[int, ...] = ()
    learners: tuple[int, ...] = ()


class SnapshotMeta(msgspec.Struct, frozen=True, array_like=True):
    """Where a snapshot stands in the log: the last index and term it covers, and the config."""

    index: int = 0
    term: int = 0
    conf: ConfState = ConfState()


class Snapshot(msgspec.Struct, frozen=True, array_like=True):
    meta: SnapshotMeta = SnapshotMeta()
    data: bytes = b""


class SnapshotChunk(msgspec.Struct, frozen=True, array_like=True):
    """Bytes [offset, offset + len(data)) of the snapshot `meta` as produced by node `source`.

    Two nodes' snapshots at the same index need not be byte-identical, so a staged transfer is
    identified by (meta, source) and resumes only with chunks of the same pair."""

    meta: SnapshotMeta
    source: int
    offset: int
    data: bytes


class StagedSnapshot(msgspec.Struct, frozen=True, array_like=True):
    """A snapshot being received: its identity and how many leading bytes are durably staged."""

    meta: SnapshotMeta
    source: int
    size: int


class ConfChangeType(IntEnum):
    ADD_VOTER = 0  # add a voter, or promote a learner
    ADD_LEARNER = 1
    REMOVE_NODE = 2


class ConfChange(msgspec.Struct, frozen=True, array_like=True):
    """One single-server membership change, proposed with RaftCore.propose_conf_change()."""

    type: ConfChangeType
    node_id: int
    context: bytes = b""  # opaque to the core (e.g. the new node's address)


class ReadState(msgspec.Struct, frozen=True, array_like=True):
    """A confirmed ReadIndex: serve the read for `context` once applied >= `index`."""

    index: int
    context: bytes


class MsgType(IntEnum):
    APP = 1  # append entries (index/log_term = the entry before `entries`)
    APP_RESP = 2  # index = last index matched (accept) or the rejected index (reject)
    VOTE = 3  # index/log_term = candidate's last index and term
    VOTE_RESP = 4
    PRE_VOTE = 5  # term = the term the candidate would campaign in (not adopted by receivers)
    PRE_VOTE_RESP = 6
    HEARTBEAT = 7  # commit = min(leader commit, follower match)
    HEARTBEAT_RESP = 8
    SNAP = 9  # one snapshot chunk: snapshot=(meta, bytes), offset, done
    TIMEOUT_NOW = 10  # leadership transfer: campaign now, skipping pre-vote and the lease
    READ_INDEX = 11  # follower -> leader, context = the read's ctx
    READ_INDEX_RESP = 12  # index = the read index, context = the read's ctx
    SNAP_RESP = 13  # index/log_term = the snapshot's, offset = bytes staged; reject = "from offset"


class Message(msgspec.Struct, frozen=True, array_like=True, omit_defaults=True):
    """One Raft message between two cores. Unused fields keep their defaults.

    On APP_RESP with reject=True, `reject_hint` is the follower's last index (or the conflicting
    index) and `log_term` the term at that index, so the leader can skip whole terms on backtrack.
    """

    type: MsgType
    to: int
    sender: int
    term: int
    log_term: int = 0
    index: int = 0
    entries: tuple[Entry, ...] = ()
    commit: int = 0
    reject: bool = False
    reject_hint: int = 0
    snapshot: Snapshot | None = None
    context: bytes = b""
    offset: int = 0
    done: bool = False


class Role(IntEnum):
    FOLLOWER = 0
    PRE_CANDIDATE = 1
    CANDIDATE = 2
    LEADER = 3


class SoftState(msgspec.Struct, frozen=True, array_like=True):
    """Volatile state the driver may want to show or route by; never persisted."""

    leader: int = 0  # 0 means "no known leader"
    role: Role = Role.FOLLOWER


class Ready(msgspec.Struct, frozen=True):
    """Everything the driver must do after a batch of steps, in this order:

    1. send `messages` (safe before persisting: the leader's appends and heartbeats, so the leader
       replicates in parallel with its own fsync);
    2. stage `snapshot_chunks` in order (storage.stage_snapshot_chunk, durable on return);
    3. persist `snapshot` (if any: install the staged snapshot of that meta), then `entries`
       (truncating any stored entries at or after entries[0].index first) and `hard_state` (if
       not None) atomically, fsync'd when `must_sync` — one storage.save() call;
    4. only then send `messages_after_persist` (votes, responses, anything that promises state);
    5. if `snapshot`: restore the state machine from storage.snapshot().data; then apply
       `committed_entries` in order (they are already stable locally);
    6. serve each of `read_states` once the applied index reaches its index;
    7. call `advance(ready)` on the core, exactly once, before asking for the next Ready.
    `conf_state` (not None when the configuration changed) is for the driver to track members.
    """

    hard_state: HardState | None = None
    entries: tuple[Entry, ...] = ()
    snapshot: Snapshot | None = None
    messages: tuple[Message, ...] = ()
    messages_after_persist: tuple[Message, ...] = ()
    committed_entries: tuple[Entry, ...] = ()
    soft_state: SoftState | None = None  # not None when leader or role changed
    must_sync: bool = False
    snapshot_chunks: tuple[SnapshotChunk, ...] = ()
    read_states: tuple[ReadState, ...] = ()
    conf_state: ConfState | None = None


class RandomSource(Protocol):
    """Injected randomness (the core imports no `random`): a seeded `random.Random` fits."""

    def randrange(self, start: int, stop: int) -> int: ...
