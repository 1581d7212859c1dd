"""Chunked snapshot transfer: the leader's per-follower SnapshotSender (a window of chunks read
from storage) and the follower's SnapshotReceiver (chunks staged durably, resumable)."""

from __future__ import annotations

import msgspec

from raftoral.raft.storage import LogStorage
from raftoral.raft.types import SnapshotChunk, SnapshotMeta, StagedSnapshot


class SnapshotStats(msgspec.Struct):
    """Cumulative transfer counters of one core (for the node's metrics; status() copies them)."""

    sent: int = 0  # transfers the leader saw installed
    sent_bytes: int = 0
    received: int = 0  # snapshots this node installed from a leader
    received_bytes: int = 0  # chunk bytes accepted for staging


class SnapshotSender:
    """The leader's transfer of `meta` to one follower: bytes before `acked` are staged there,
    `next` is the offset to send next; at most `window` chunks are unacknowledged. Until the
    follower first answers, one chunk probes how much it has staged already (a resume)."""

    __slots__ = ("_beat_acked", "_heard", "acked", "done_sent", "meta", "next")

    def __init__(self, meta: SnapshotMeta) -> None:
        self.meta = meta
        self.next = 0
        self.acked = 0
        self.done_sent = False
        self._beat_acked = -1
        self._heard = False

    def can_send(self, chunk: int, window: int) -> bool:
        limit = chunk * window if self._heard else 1
        return not self.done_sent and self.next - self.acked < limit

    def sent(self, length: int, done: bool) -> None:
        self.next += length
        self.done_sent = done

    def on_ack(self, offset: int) -> None:
        """The follower has `offset` bytes staged."""
        self._heard = True
        self.acked = max(self.acked, offset)
        self.next = max(self.next, self.acked)

    def rewind(self, offset: int) -> None:
        """Resend from `offset` (the follower's staged size, or our last ack after a loss)."""
        self._heard = self._heard or offset > 0
        self.acked = self.next = offset
        self.done_sent = False

    def on_heartbeat(self) -> None:
        """A heartbeat round trip passed; if no chunk was acked since the last one, the chunks in
        flight are presumed lost and are sent again from the last ack."""
        if self.acked == self._beat_acked:
            self.rewind(self.acked)
        self._beat_acked = self.acked


class SnapshotReceiver:
    """The follower's side: the transfer being staged, its size (durable or in a pending Ready)
    and the accepted chunks not yet handed to the driver.

    `_staging` is what the storage holds once every chunk handed out so far is staged: read
    from storage only at construction, since chunks of a Ready not yet persisted are not in
    storage yet (a chunk of another transfer arriving in between must not make us forget them).
    """

    __slots__ = ("_key", "_staging", "pending", "size")

    def __init__(self, storage: LogStorage) -> None:
        self._staging: StagedSnapshot | None = storage.staged_snapshot()
        self._key: tuple[SnapshotMeta, int] | None = None
        self.size = 0
        self.pending: list[SnapshotChunk] = []

    def offer(self, chunk: SnapshotChunk) -> bool:
        """Accept what extends the staged bytes; False on a gap (the sender must rewind to
        `size`). A chunk of another transfer at offset 0 starts over (replaces the staging)."""
        key = (chunk.meta, chunk.source)
        if key != self._key:
            staged = self._staging
            same = staged is not None and (staged.meta, staged.source) == key
            self._key, self.size = key, staged.size if staged is not None and same else 0
        if chunk.offset > self.size:
            return False
        skip = self.size - chunk.offset
        if skip < len(chunk.data) or (skip == 0 and self.size == 0):
            data = chunk.data[skip:]
            self.pending.append(SnapshotChunk(chunk.meta, chunk.source, self.size, data))
            self.size += len(data)
            self._staging = StagedSnapshot(chunk.meta, chunk.source, self.size)
        return True

    def take_pending(self) -> tuple[SnapshotChunk, ...]:
        chunks, self.pending = tuple(self.pending), []
        return chunks

    def forget(self) -> None:
        """The transfer was installed (its staging is obsolete once the snapshot is saved)."""
        self._key = None
        self.size = 0
        self._staging = None
