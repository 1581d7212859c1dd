"""ReadIndex bookkeeping on the leader: pending reads numbered in order, each confirmed once a
quorum of voters acknowledged a heartbeat carrying its number (or a later one)."""

from __future__ import annotations

from dataclasses import dataclass

from raftoral.raft.quorum import MajorityConfig

_SEQ_BYTES = 8


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """A read to answer at `index`: locally when `sender` is the leader, else by READ_INDEX_RESP."""

    index: int
    context: bytes
    sender: int


def encode_seq(seq: int) -> bytes:
    return seq.to_bytes(_SEQ_BYTES, "big")


def decode_seq(context: bytes) -> int:
    """The read number a heartbeat response echoes (0 for a plain heartbeat)."""
    return int.from_bytes(context, "big") if len(context) == _SEQ_BYTES else 0


class ReadOnly:
    """Reads awaiting confirmation; read number n is confirmed once a quorum acked seq >= n."""

    __slots__ = ("_acks", "_confirmed", "_pending")

    def __init__(self) -> None:
        self._pending: list[ReadRequest] = []
        self._confirmed = 0  # number of the last read confirmed
        self._acks: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, request: ReadRequest) -> int:
        """Queue a read; its number, to send in the next heartbeat's context."""
        self._pending.append(request)
        return self.last_seq()

    def last_seq(self) -> int:
        return self._confirmed + len(self._pending)

    def heartbeat_context(self) -> bytes:
        return encode_seq(self.last_seq()) if self._pending else b""

    def ack(self, node: int, seq: int, voters: MajorityConfig) -> list[ReadRequest]:
        """`node` acknowledged heartbeats through read `seq`; the reads now confirmed, in order."""
        if seq <= self._acks.get(node, 0):
            return []
        self._acks[node] = seq
        confirmed = min(voters.committed_index(self._acks), self.last_seq())
        if confirmed <= self._confirmed:
            return []
        done = self._pending[: confirmed - self._confirmed]
        del self._pending[: confirmed - self._confirmed]
        self._confirmed = confirmed
        return done
