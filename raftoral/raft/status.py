"""RaftStatus: a read-only snapshot of one core for dashboards, the CLI and tests.

Per-peer replication progress is filled in only on the leader."""

from __future__ import annotations

import msgspec

from raftoral.raft.progress import ProgressState
from raftoral.raft.snapshot_transfer import SnapshotStats
from raftoral.raft.types import ConfState, Role


class PeerProgress(msgspec.Struct, frozen=True):
    match: int
    next: int
    state: ProgressState


class RaftStatus(msgspec.Struct, frozen=True):
    id: int
    term: int
    role: Role
    leader: int
    commit: int
    applied: int
    last_index: int
    vote: int = 0
    progress: dict[int, PeerProgress] = {}
    conf: ConfState = ConfState()
    lead_transferee: int = 0  # leader only: the target of a leadership transfer in progress
    snapshots: SnapshotStats = msgspec.field(default_factory=SnapshotStats)
