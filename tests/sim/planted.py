"""RaftCore subclasses with planted bugs, and the fault profile that makes them show quickly.

The simulator's checker must catch each of them; see test_planted_bugs.py.
"""

from __future__ import annotations

from raftoral.raft.core import RaftCore
from raftoral.raft.read_only import ReadRequest
from raftoral.raft.types import Message, MsgType, Role
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


class UnconfirmedReadCore(RaftCore):
    """Answers ReadIndex at once from its commit index, without confirming leadership by a
    heartbeat round: a deposed leader in a minority serves stale reads."""

    def _read(self, request: ReadRequest) -> None:
        self._answer_reads([ReadRequest(self._log.committed, request.context, request.sender)])


class EagerConfChangeCore(RaftCore):
    """Proposes a configuration change while the previous one is still uncommitted."""

    def _check_conf_change_allowed(self) -> None:
        if self._role != Role.LEADER:
            super()._check_conf_change_allowed()


# A leader is often cut off (without check-quorum it keeps leading a minority) while clients
# write and read a lot: the conditions for a stale read.
STALE_READS = FaultProfile(
    links=LinkFaults(loss=0.01, max_delay=3),
    partition_every=150,
    crash_every=0,
    propose_every=5,
    max_outage=300,
    fsync_max=2,
    pre_vote=True,
    check_quorum=False,
    heartbeat_tick=1,
    max_inflight_msgs=256,
    max_size_per_msg=1 << 20,
    read_every=5,
)
