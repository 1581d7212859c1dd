"""Majority quorums: committed index and vote outcomes."""

from __future__ import annotations

import pytest

from raftoral.raft.quorum import MajorityConfig, VoteResult


@pytest.mark.parametrize(
    ("voters", "acked", "want"),
    [
        ((1,), {1: 5}, 5),
        ((1,), {}, 0),
        ((1, 2, 3), {1: 5, 2: 3, 3: 1}, 3),
        ((1, 2, 3), {1: 5, 2: 5}, 5),
        ((1, 2, 3), {1: 5}, 0),
        ((1, 2, 3, 4), {1: 9, 2: 8, 3: 7, 4: 1}, 7),
        ((1, 2, 3, 4), {1: 9, 2: 8}, 0),
        ((1, 2, 3, 4, 5), {1: 9, 2: 8, 3: 7, 4: 6, 5: 5}, 7),
        ((1, 2, 3), {1: 5, 2: 5, 3: 5, 9: 100}, 5),  # non-voters don't count
    ],
)
def test_committed_index(voters: tuple[int, ...], acked: dict[int, int], want: int) -> None:
    assert MajorityConfig(voters).committed_index(acked) == want


def test_empty_config_commits_everything_and_wins() -> None:
    config = MajorityConfig(())
    assert config.committed_index({}) > 1 << 60
    assert config.vote_result({}) == VoteResult.WON


@pytest.mark.parametrize(
    ("voters", "votes", "want"),
    [
        ((1,), {1: True}, VoteResult.WON),
        ((1,), {1: False}, VoteResult.LOST),
        ((1,), {}, VoteResult.PENDING),
        ((1, 2, 3), {1: True}, VoteResult.PENDING),
        ((1, 2, 3), {1: True, 2: True}, VoteResult.WON),
        ((1, 2, 3), {1: True, 2: False}, VoteResult.PENDING),
        ((1, 2, 3), {1: True, 2: False, 3: False}, VoteResult.LOST),
        ((1, 2, 3, 4), {1: True, 2: True}, VoteResult.PENDING),
        ((1, 2, 3, 4), {1: True, 2: False, 3: False}, VoteResult.LOST),
        ((1, 2, 3, 4, 5), {1: True, 2: True, 3: True}, VoteResult.WON),
        ((1, 2, 3), {7: True, 8: True}, VoteResult.PENDING),  # non-voters don't count
    ],
)
def test_vote_result(
    voters: tuple[int, ...], votes: dict[int, bool], want: VoteResult
) -> None:
    assert MajorityConfig(voters).vote_result(votes) == want


def test_voters_are_deduplicated_and_sorted() -> None:
    config = MajorityConfig([3, 1, 3, 2])
    assert config.voters == (1, 2, 3)
    assert config.quorum() == 2
    assert 2 in config and 4 not in config
