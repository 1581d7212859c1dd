"""Progress: the leader's view of one follower (match, next, probe/replicate/snapshot state) and
Inflights, the window of append messages in flight to it."""

from __future__ import annotations

from collections import deque
from enum import IntEnum

from raftoral.raft.snapshot_transfer import SnapshotSender


class ProgressState(IntEnum):
    PROBE = 0  # one append per round trip (or heartbeat response) until we find where logs match
    REPLICATE = 1  # optimistic streaming: next runs ahead of match, bounded by Inflights
    SNAPSHOT = 2  # a snapshot is being sent in chunks (see `transfer`); no appends


class Inflights:
    """The last indexes of append messages sent but not yet acknowledged, oldest first."""

    __slots__ = ("_q", "capacity")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._q: deque[int] = deque()

    def __len__(self) -> int:
        return len(self._q)

    def full(self) -> bool:
        return len(self._q) >= self.capacity

    def add(self, last_index: int) -> None:
        if self.full():
            raise OverflowError("inflights window is full")
        self._q.append(last_index)

    def free_le(self, index: int) -> None:
        """Forget every message whose last index is <= index (acknowledged)."""
        q = self._q
        while q and q[0] <= index:
            q.popleft()

    def free_first_one(self) -> None:
        if self._q:
            self._q.popleft()

    def reset(self) -> None:
        self._q.clear()


class Progress:
    """What the leader knows of one peer: entries up to `match` are on it; `next` is sent next.

    Invariant: match < next. `probe_sent` pauses a probing peer until it answers. `transfer` is
    the snapshot being sent while in SNAPSHOT state.
    """

    __slots__ = (
        "inflights",
        "match",
        "next",
        "probe_sent",
        "recent_active",
        "state",
        "transfer",
    )

    def __init__(self, match: int, next_index: int, max_inflight: int) -> None:
        self.match = match
        self.next = next_index
        self.state = ProgressState.PROBE
        self.probe_sent = False
        self.recent_active = False
        self.inflights = Inflights(max_inflight)
        self.transfer: SnapshotSender | None = None

    def __repr__(self) -> str:
        return f"Progress({self.state.name} match={self.match} next={self.next})"

    def _reset_state(self, state: ProgressState) -> None:
        self.probe_sent = False
        self.state = state
        self.inflights.reset()
        self.transfer = None

    def become_probe(self) -> None:
        self._reset_state(ProgressState.PROBE)
        self.next = self.match + 1

    def become_replicate(self) -> None:
        self._reset_state(ProgressState.REPLICATE)
        self.next = self.match + 1

    def become_snapshot(self, transfer: SnapshotSender) -> None:
        self._reset_state(ProgressState.SNAPSHOT)
        self.transfer = transfer

    def is_paused(self) -> bool:
        if self.state == ProgressState.PROBE:
            return self.probe_sent
        if self.state == ProgressState.REPLICATE:
            return self.inflights.full()
        return True

    def sent_entries(self, count: int) -> None:
        """An append with `count` entries starting at `next` went out."""
        if self.state == ProgressState.REPLICATE:
            if count:
                self.next += count
                self.inflights.add(self.next - 1)
        else:
            self.probe_sent = True

    def maybe_update(self, index: int) -> bool:
        """The peer acknowledged entries up to index; False if that is old news."""
        if index <= self.match:
            return False
        self.match = index
        self.next = max(self.next, index + 1)
        return True

    def maybe_decr_to(self, rejected: int, match_hint: int) -> bool:
        """The peer rejected an append anchored at `rejected`; back `next` off towards the hint.

        False when the rejection is stale (a reordered or duplicated response).
        """
        if self.state == ProgressState.REPLICATE:
            if rejected <= self.match:
                return False
            self.next = self.match + 1
            return True
        if self.next - 1 != rejected:
            return False
        self.next = max(min(rejected, match_hint + 1), self.match + 1)
        self.probe_sent = False
        return True
