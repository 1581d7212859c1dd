"""Majority quorums: the commit index a majority has acknowledged and the outcome of a vote.

Written over one voter set so a joint configuration can later combine two (min / both-won)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import IntEnum


class VoteResult(IntEnum):
    PENDING = 0
    LOST = 1
    WON = 2


class MajorityConfig:
    """A set of voter ids; a quorum is any strict majority of them."""

    __slots__ = ("_pos", "voters")

    def __init__(self, voters: Iterable[int]) -> None:
        self.voters: tuple[int, ...] = tuple(sorted(set(voters)))
        n = len(self.voters)
        self._pos = n - (n // 2 + 1)  # index into the ascending acked list that a quorum reached

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.voters

    def quorum(self) -> int:
        return len(self.voters) // 2 + 1

    def committed_index(self, acked: Mapping[int, int]) -> int:
        """The largest index acknowledged by a majority (voters missing from acked count 0).

        An empty config commits everything, so it is neutral inside a joint config.
        """
        if not self.voters:
            return 1 << 63
        indexes = sorted(acked.get(v, 0) for v in self.voters)
        return indexes[self._pos]

    def vote_result(self, votes: Mapping[int, bool]) -> VoteResult:
        """WON once a majority said yes, LOST once a majority can no longer say yes."""
        if not self.voters:
            return VoteResult.WON
        yes = missing = 0
        for v in self.voters:
            vote = votes.get(v)
            if vote is None:
                missing += 1
            elif vote:
                yes += 1
        q = self.quorum()
        if yes >= q:
            return VoteResult.WON
        if yes + missing >= q:
            return VoteResult.PENDING
        return VoteResult.LOST
