"""Tunables of one Raft core, counted in ticks (the driver decides how long a tick is)."""

from __future__ import annotations

import msgspec


class RaftConfig(msgspec.Struct, frozen=True):
    node_id: int
    election_tick: int = 10  # followers campaign after a random timeout in [election, 2*election)
    heartbeat_tick: int = 1  # the leader sends heartbeats every heartbeat_tick ticks
    pre_vote: bool = True
    check_quorum: bool = True  # a leader not hearing from a quorum for election_tick steps down
    max_inflight_msgs: int = 256  # append messages in flight per follower in replicate state
    max_size_per_msg: int = 1 << 20  # bytes of entries per append message (at least one entry)
    max_committed_size_per_ready: int = 16 << 20  # bytes of committed entries handed out per Ready
    max_snapshot_chunk: int = 1 << 20  # bytes of snapshot data per SNAP message
    snapshot_window: int = 4  # SNAP chunks in flight per follower before waiting for an ack

    def validate(self) -> None:
        if self.node_id <= 0:
            raise ValueError("node_id must be > 0")
        if self.heartbeat_tick <= 0 or self.election_tick <= self.heartbeat_tick:
            raise ValueError("need 0 < heartbeat_tick < election_tick")
        if self.max_inflight_msgs <= 0:
            raise ValueError("max_inflight_msgs must be > 0")
        if self.max_snapshot_chunk <= 0 or self.snapshot_window <= 0:
            raise ValueError("max_snapshot_chunk and snapshot_window must be > 0")
