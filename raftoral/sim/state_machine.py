"""The simulated state machine: a rolling digest of the applied entries, with snapshot/restore.

Snapshots carry (index, digest) plus padding derived from the digest, so transfers take chunks.
"""

from __future__ import annotations

import hashlib

import msgspec

from raftoral.raft.types import Entry

ZERO = bytes(16)
_HEADER = 8 + len(ZERO)


def chain(digest: bytes, entry: Entry) -> bytes:
    """The digest after applying `entry` on a state whose digest is `digest`."""
    return hashlib.blake2b(digest + msgspec.msgpack.encode(entry), digest_size=16).digest()


def _padding(digest: bytes, size: int) -> bytes:
    return (digest * (size // len(digest) + 1))[:size]


class SimStateMachine:
    """`index` is the last applied index, `digest` hashes the applied sequence 1..index; two
    machines that applied the same entries have the same (index, digest). `corrupt` says why a
    snapshot could not be restored (None when it was fine)."""

    __slots__ = ("corrupt", "digest", "index")

    def __init__(self, index: int = 0, digest: bytes = ZERO, corrupt: str | None = None) -> None:
        self.index = index
        self.digest = digest
        self.corrupt = corrupt

    def apply(self, entry: Entry) -> None:
        self.digest = chain(self.digest, entry)
        self.index = entry.index

    def snapshot(self, pad: int = 0) -> bytes:
        """The state as bytes, followed by `pad` bytes that depend on it (to check transfers)."""
        return self.index.to_bytes(8, "big") + self.digest + _padding(self.digest, pad)

    @classmethod
    def restore(cls, data: bytes) -> SimStateMachine:
        """The state saved by snapshot(); b"" is the empty state. Damaged bytes give a machine
        with `corrupt` set."""
        if not data:
            return cls()
        if len(data) < _HEADER:
            return cls(corrupt=f"snapshot of {len(data)} bytes is shorter than its header")
        index, digest = int.from_bytes(data[:8], "big"), data[8:_HEADER]
        if data[_HEADER:] != _padding(digest, len(data) - _HEADER):
            return cls(index, digest, corrupt="snapshot padding does not match its digest")
        return cls(index, digest)
