"""RaftCore subclasses with planted bugs, and the fault profile that makes them show quickly.

The simulator's checker must catch each of them; see test_planted_bugs.py.
"""

from __future__ import annotations

from raftoral.raft.core import RaftCore
from raftoral.raft.types import Message, MsgType
from raftoral.sim.faults import FaultProfile
from raftoral.sim.network import LinkFaults


class DoubleVoteCore(RaftCore):
    """Grants a second vote in a term it already voted in (breaks election safety)."""

    def _can_grant_vote(self, msg: Message) -> bool:
        if msg.type == MsgType.VOTE and self.vote not in (0, msg.sender):
            return True
        return super()._can_grant_vote(msg)


class OldTermCommitCore(RaftCore):
    """Commits by counting replicas of an entry from an earlier term (Raft §5.4.2, Figure 8)."""

    def _maybe_commit(self) -> bool:
        acked = {peer: pr.match for peer, pr in self._progress.items()}
        index = self._voters.committed_index(acked)
        return self._log.maybe_commit(index, self._log.term_or_zero(index))


class NoElectionCore(RaftCore):
    """Never campaigns on its own, so a cluster of them never elects a leader (breaks liveness)."""

    def _tick_election(self) -> None:
        pass


# Leaders crash often and come back soon, replication goes one entry per message: the conditions
# of Figure 8, where a leader that counts old-term replicas commits an entry later overwritten.
FIGURE_8 = FaultProfile(
    links=LinkFaults(loss=0.05, dup=0.01, max_delay=5, slow=0.02, slow_max=50),
    partition_every=0,
    crash_every=40,
    propose_every=5,
    max_outage=150,
    fsync_max=3,
    pre_vote=False,
    check_quorum=False,
    heartbeat_tick=2,
    max_inflight_msgs=4,
    max_size_per_msg=1,
)
