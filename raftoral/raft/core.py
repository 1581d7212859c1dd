"""RaftCore: one Raft peer as a pure state machine (election, pre-vote, check-quorum, replication).

Stepped by tick()/step()/propose(); every effect leaves through ready()/advance() (see Ready)."""

from __future__ import annotations

from collections.abc import Sequence

from raftoral.errors import CompactedError, ProposalDropped, RaftoralError
from raftoral.raft.config import RaftConfig
from raftoral.raft.log import RaftLog
from raftoral.raft.progress import Progress, ProgressState
from raftoral.raft.quorum import MajorityConfig, VoteResult
from raftoral.raft.status import PeerProgress, RaftStatus
from raftoral.raft.storage import LogStorage
from raftoral.raft.types import (
    ConfState,
    Entry,
    EntryKind,
    HardState,
    Message,
    MsgType,
    RandomSource,
    Ready,
    Role,
    SoftState,
)

_RESPONSE_TO = {MsgType.VOTE: MsgType.VOTE_RESP, MsgType.PRE_VOTE: MsgType.PRE_VOTE_RESP}
# Responses that promise local state (a vote, an appended entry) wait for the Ready to persist.
_AFTER_PERSIST = frozenset({MsgType.APP_RESP, MsgType.VOTE_RESP, MsgType.PRE_VOTE_RESP})
_FROM_LEADER = frozenset({MsgType.APP, MsgType.HEARTBEAT, MsgType.SNAP})


class RaftCore:
    """One Raft peer. Not thread-safe; the driver owns it and follows the Ready contract.

    Rule points that tests may override to plant bugs (the simulator's invariant checks must
    then fail):
      - `_can_grant_vote(msg) -> bool`: whether to grant a VOTE / PRE_VOTE request;
      - `_maybe_commit() -> bool`: the leader's commit rule (majority match, current term only).

    Self-acknowledgement happens in advance(): the candidate's own vote counts once the Ready
    carrying it is persisted, and the leader's own match index moves to what is durable.
    """

    def __init__(
        self, config: RaftConfig, storage: LogStorage, rng: RandomSource, applied: int = 0
    ) -> None:
        config.validate()
        self._cfg = config
        self._id = config.node_id
        self._rng = rng
        hs, conf = storage.initial_state()
        self._log = RaftLog(storage, hs.commit, applied)
        self._term = hs.term
        self._vote = hs.vote
        self._conf = conf
        self._voters = MajorityConfig(conf.voters)
        self._lead = 0
        self._role = Role.FOLLOWER
        self._progress: dict[int, Progress] = {}
        self._votes: dict[int, bool] = {}
        self._election_elapsed = 0
        self._heartbeat_elapsed = 0
        self._timeout = config.election_tick
        self._msgs: list[Message] = []
        self._msgs_after: list[Message] = []
        self._bcast_pending = False
        self._outstanding = False
        self._prev_hs = HardState(hs.term, hs.vote, self._log.committed)
        self._prev_ss = SoftState()
        self._become_follower(self._term, 0)

    # -- read-only state -----------------------------------------------------------------------

    @property
    def id(self) -> int:
        return self._id

    @property
    def term(self) -> int:
        return self._term

    @property
    def role(self) -> Role:
        return self._role

    @property
    def leader(self) -> int:
        return self._lead

    @property
    def vote(self) -> int:
        return self._vote

    @property
    def commit_index(self) -> int:
        return self._log.committed

    @property
    def applied_index(self) -> int:
        return self._log.applied

    @property
    def last_index(self) -> int:
        return self._log.last_index()

    @property
    def conf(self) -> ConfState:
        return self._conf

    def status(self) -> RaftStatus:
        progress: dict[int, PeerProgress] = {}
        if self._role == Role.LEADER:
            progress = {
                i: PeerProgress(pr.match, pr.next, pr.state) for i, pr in self._progress.items()
            }
        return RaftStatus(
            id=self._id,
            term=self._term,
            role=self._role,
            leader=self._lead,
            commit=self._log.committed,
            applied=self._log.applied,
            last_index=self._log.last_index(),
            vote=self._vote,
            progress=progress,
        )

    # -- inputs --------------------------------------------------------------------------------

    def tick(self) -> None:
        if self._role == Role.LEADER:
            self._tick_heartbeat()
        else:
            self._tick_election()

    def campaign(self) -> None:
        """Start an election now (pre-vote first when enabled); no-op on a leader or non-voter."""
        if self._role == Role.LEADER or self._id not in self._voters:
            return
        self._campaign(pre_vote=self._cfg.pre_vote)

    def propose(self, data: bytes) -> int:
        return self.propose_batch((data,))[0]

    def propose_batch(self, datas: Sequence[bytes]) -> list[int]:
        """Append entries on the leader; they go out with the next Ready, batched per follower."""
        if self._role != Role.LEADER:
            raise ProposalDropped(
                f"node {self._id} is not the leader; retry on node {self._lead or 'unknown'}",
                leader=self._lead,
            )
        first = self._log.last_index() + 1
        term = self._term
        self._log.append([Entry(term, first + i, EntryKind.NORMAL, d) for i, d in enumerate(datas)])
        self._bcast_pending = True
        return list(range(first, first + len(datas)))

    def step(self, msg: Message) -> None:
        if msg.to != self._id or not self._check_term(msg):
            return
        if msg.type in _RESPONSE_TO:
            self._handle_vote_request(msg)
        elif self._role == Role.LEADER:
            self._step_leader(msg)
        elif self._role == Role.FOLLOWER:
            self._step_follower(msg)
        else:
            self._step_candidate(msg)

    # -- output --------------------------------------------------------------------------------

    def has_ready(self) -> bool:
        """Whether ready() has work; always False while a Ready awaits advance()."""
        if self._outstanding:
            return False
        return bool(
            self._bcast_pending
            or self._msgs
            or self._msgs_after
            or self._log.has_next_unstable()
            or self._hard_state() != self._prev_hs
            or self._soft_state() != self._prev_ss
            or self._log.has_next_committed()
        )

    def ready(self) -> Ready:
        if self._outstanding:
            raise RaftoralError("call advance() with the previous Ready before asking for another")
        self._flush_proposals()
        log = self._log
        hs, ss = self._hard_state(), self._soft_state()
        entries = log.next_unstable()
        committed = tuple(log.next_committed(self._cfg.max_committed_size_per_ready))
        prev = self._prev_hs
        rd = Ready(
            hard_state=hs if hs != prev else None,
            entries=entries,
            messages=tuple(self._msgs),
            messages_after_persist=tuple(self._msgs_after),
            committed_entries=committed,
            soft_state=ss if ss != self._prev_ss else None,
            must_sync=bool(entries) or hs.term != prev.term or hs.vote != prev.vote,
        )
        self._msgs.clear()
        self._msgs_after.clear()
        log.accept_unstable()
        if committed:
            log.accept_applying(committed[-1].index)
        self._prev_hs, self._prev_ss = hs, ss
        self._outstanding = True
        return rd

    def advance(self, rd: Ready) -> None:
        """The driver persisted `rd`, sent its messages and applied its committed entries."""
        if not self._outstanding:
            raise RaftoralError("advance() called without an outstanding Ready")
        self._outstanding = False
        if rd.entries:
            last = rd.entries[-1]
            self._log.stable_to(last.index, last.term)
        if rd.committed_entries:
            self._log.applied_to(rd.committed_entries[-1].index)
        if self._role == Role.LEADER:
            self._self_ack()
        elif self._role == Role.CANDIDATE and rd.hard_state is not None:
            hs = rd.hard_state
            if hs.term == self._term and hs.vote == self._id:
                self._poll(self._id, True)

    def _hard_state(self) -> HardState:
        return HardState(self._term, self._vote, self._log.committed)

    def _soft_state(self) -> SoftState:
        return SoftState(self._lead, self._role)

    def _flush_proposals(self) -> None:
        if self._bcast_pending:
            self._bcast_pending = False
            if self._role == Role.LEADER:
                self._bcast_append()

    def _send(self, msg: Message) -> None:
        if msg.type in _AFTER_PERSIST:
            self._msgs_after.append(msg)
        else:
            self._msgs.append(msg)

    # -- role transitions ----------------------------------------------------------------------

    def _reset(self, term: int) -> None:
        if term != self._term:
            self._term = term
            self._vote = 0
        self._lead = 0
        self._election_elapsed = 0
        self._heartbeat_elapsed = 0
        election = self._cfg.election_tick
        self._timeout = self._rng.randrange(election, 2 * election)
        self._votes = {}
        self._progress = {}
        self._bcast_pending = False

    def _become_follower(self, term: int, lead: int) -> None:
        self._reset(term)
        self._lead = lead
        self._role = Role.FOLLOWER

    def _become_pre_candidate(self) -> None:
        # No term change, no vote: a pre-vote round only asks whether an election could win.
        self._votes = {}
        self._lead = 0
        self._role = Role.PRE_CANDIDATE

    def _become_candidate(self) -> None:
        self._reset(self._term + 1)
        self._vote = self._id
        self._role = Role.CANDIDATE

    def _become_leader(self) -> None:
        self._reset(self._term)
        self._lead = self._id
        self._role = Role.LEADER
        log = self._log
        nxt = log.last_index() + 1
        cap = self._cfg.max_inflight_msgs
        self._progress = {v: Progress(0, nxt, cap) for v in self._voters.voters}
        me = self._progress.get(self._id)
        if me is not None:
            me.match = log.stable_last_index()  # only what is durable counts towards commit
            me.become_replicate()
            me.next = nxt
            me.recent_active = True
        log.append([Entry(self._term, nxt)])  # the no-op that lets this term commit
        self._bcast_append()

    # -- ticks ---------------------------------------------------------------------------------

    def _tick_election(self) -> None:
        self._election_elapsed += 1
        if self._election_elapsed >= self._timeout and self._id in self._voters:
            self._election_elapsed = 0
            self._campaign(pre_vote=self._cfg.pre_vote)

    def _tick_heartbeat(self) -> None:
        self._heartbeat_elapsed += 1
        self._election_elapsed += 1
        if self._election_elapsed >= self._cfg.election_tick:
            self._election_elapsed = 0
            if self._cfg.check_quorum and not self._check_quorum_active():
                self._become_follower(self._term, 0)
                return
        if self._heartbeat_elapsed >= self._cfg.heartbeat_tick:
            self._heartbeat_elapsed = 0
            self._bcast_heartbeat()

    def _check_quorum_active(self) -> bool:
        """Whether a quorum was heard from since the last check; resets the marks for the next."""
        active = {i: pr.recent_active for i, pr in self._progress.items()}
        for i, pr in self._progress.items():
            pr.recent_active = i == self._id
        return self._voters.vote_result(active) == VoteResult.WON

    # -- elections -----------------------------------------------------------------------------

    def _campaign(self, pre_vote: bool) -> None:
        if pre_vote:
            self._become_pre_candidate()
            kind, term = MsgType.PRE_VOTE, self._term + 1
        else:
            self._become_candidate()
            kind, term = MsgType.VOTE, self._term
        last = self._log.last_index()
        last_term = self._log.last_term()
        for v in self._voters.voters:
            if v != self._id:
                self._send(Message(kind, v, self._id, term, log_term=last_term, index=last))
        if pre_vote:
            self._poll(self._id, True)  # nothing to persist for a pre-vote
        # A real self-vote counts in advance(), once the Ready carrying it is persisted.

    def _poll(self, node: int, granted: bool) -> None:
        self._votes[node] = granted
        result = self._voters.vote_result(self._votes)
        if result == VoteResult.WON:
            if self._role == Role.PRE_CANDIDATE:
                self._campaign(pre_vote=False)
            else:
                self._become_leader()
        elif result == VoteResult.LOST:
            self._become_follower(self._term, 0)

    def _in_lease(self) -> bool:
        """Heard from a live leader within the election timeout (so no election is needed)."""
        return self._lead != 0 and self._election_elapsed < self._cfg.election_tick

    def _check_term(self, msg: Message) -> bool:
        """Apply the term rules to an incoming message; False when it must go no further."""
        if msg.term > self._term:
            return self._on_higher_term(msg)
        if msg.term < self._term:
            self._on_lower_term(msg)
            return False
        return True

    def _on_higher_term(self, msg: Message) -> bool:
        kind = msg.type
        if kind in _RESPONSE_TO and self._cfg.check_quorum and self._in_lease():
            return False  # leader lease: a live leader exists, ignore the disruptive candidate
        if kind == MsgType.PRE_VOTE or (kind == MsgType.PRE_VOTE_RESP and not msg.reject):
            return True  # pre-votes carry a future term that nobody adopts
        self._become_follower(msg.term, msg.sender if kind in _FROM_LEADER else 0)
        return True

    def _on_lower_term(self, msg: Message) -> None:
        if (self._cfg.check_quorum or self._cfg.pre_vote) and msg.type in (
            MsgType.APP,
            MsgType.HEARTBEAT,
        ):
            # A stale leader, or we advanced our term alone in a partition and now ignore the
            # real leader's heartbeats while our votes are ignored (lease). Tell it our term so
            # it steps down and a fresh election frees us.
            self._send(Message(MsgType.APP_RESP, msg.sender, self._id, self._term))
        elif msg.type == MsgType.PRE_VOTE:
            self._send(
                Message(MsgType.PRE_VOTE_RESP, msg.sender, self._id, self._term, reject=True)
            )

    def _handle_vote_request(self, msg: Message) -> None:
        resp = _RESPONSE_TO[msg.type]
        if self._can_grant_vote(msg):
            # Answer with the request's term: a pre-vote's term is in our future.
            self._send(Message(resp, msg.sender, self._id, msg.term))
            if msg.type == MsgType.VOTE:
                self._election_elapsed = 0
                self._vote = msg.sender
        else:
            self._send(Message(resp, msg.sender, self._id, self._term, reject=True))

    def _can_grant_vote(self, msg: Message) -> bool:
        """Grant a (pre-)vote: not promised elsewhere this term, and the candidate's log is at
        least as up to date as ours (§5.4.1). Pre-votes are refused while a leader is live."""
        pre = msg.type == MsgType.PRE_VOTE
        if pre and self._in_lease():
            return False
        free = (
            self._vote == msg.sender
            or (self._vote == 0 and self._lead == 0)
            or (pre and msg.term > self._term)
        )
        return free and self._log.is_up_to_date(msg.index, msg.log_term)

    def _step_candidate(self, msg: Message) -> None:
        kind = msg.type
        if kind in (MsgType.APP, MsgType.HEARTBEAT):
            self._become_follower(msg.term, msg.sender)  # a leader won this term
            self._step_follower(msg)
            return
        mine = MsgType.PRE_VOTE_RESP if self._role == Role.PRE_CANDIDATE else MsgType.VOTE_RESP
        if kind == mine:
            self._poll(msg.sender, not msg.reject)

    # -- follower ------------------------------------------------------------------------------

    def _step_follower(self, msg: Message) -> None:
        if msg.type == MsgType.APP:
            self._election_elapsed = 0
            self._lead = msg.sender
            self._handle_append(msg)
        elif msg.type == MsgType.HEARTBEAT:
            self._election_elapsed = 0
            self._lead = msg.sender
            self._log.commit_to(msg.commit)
            self._send(Message(MsgType.HEARTBEAT_RESP, msg.sender, self._id, self._term))

    def _handle_append(self, msg: Message) -> None:
        log = self._log
        if msg.index < log.committed:
            self._send(Message(MsgType.APP_RESP, msg.sender, self._id, self._term,
                               index=log.committed))
            return
        last_new = log.maybe_append(msg.index, msg.log_term, msg.commit, msg.entries)
        if last_new is not None:
            self._send(Message(MsgType.APP_RESP, msg.sender, self._id, self._term, index=last_new))
            return
        # Hint the largest index at which our log can still match the leader's: skip our whole
        # tail of terms above msg.log_term in one round trip.
        hint, hint_term = log.find_conflict_by_term(msg.index, msg.log_term)
        self._send(Message(MsgType.APP_RESP, msg.sender, self._id, self._term, index=msg.index,
                           reject=True, reject_hint=hint, log_term=hint_term))

    # -- leader --------------------------------------------------------------------------------

    def _step_leader(self, msg: Message) -> None:
        pr = self._progress.get(msg.sender)
        if pr is None or msg.sender == self._id:
            return
        if msg.type == MsgType.APP_RESP:
            pr.recent_active = True
            if msg.reject:
                self._on_append_rejected(msg, pr)
            else:
                self._on_append_accepted(msg, pr)
        elif msg.type == MsgType.HEARTBEAT_RESP:
            pr.recent_active = True
            pr.probe_sent = False
            if pr.state == ProgressState.REPLICATE and pr.inflights.full():
                pr.inflights.free_first_one()  # all in flight may be lost: let one through
            if pr.match < self._log.last_index():
                self._send_append(msg.sender)

    def _on_append_rejected(self, msg: Message, pr: Progress) -> None:
        hint = msg.reject_hint
        if msg.log_term > 0:
            # Skip every index where our term exceeds the follower's term at the hint.
            hint = self._log.find_conflict_by_term(hint, msg.log_term)[0]
        if pr.maybe_decr_to(msg.index, hint):
            if pr.state == ProgressState.REPLICATE:
                pr.become_probe()
            self._send_append(msg.sender)

    def _on_append_accepted(self, msg: Message, pr: Progress) -> None:
        probing = pr.state == ProgressState.PROBE
        if not (pr.maybe_update(msg.index) or (probing and pr.match == msg.index)):
            return
        if probing:
            pr.become_replicate()
        elif pr.state == ProgressState.REPLICATE:
            pr.inflights.free_le(msg.index)
        if self._maybe_commit():
            self._bcast_append()
        while self._send_append(msg.sender, send_if_empty=False):
            pass

    def _self_ack(self) -> None:
        """After persisting, the leader's own log counts towards commit up to what is durable."""
        me = self._progress.get(self._id)
        durable = self._log.stable_last_index()
        if me is not None and me.maybe_update(durable) and self._maybe_commit():
            self._bcast_append()

    def _maybe_commit(self) -> bool:
        """Advance the commit index to what a majority has durably matched, but only through an
        entry of the current term (§5.4.2, Figure 8). True if it moved."""
        acked = {i: pr.match for i, pr in self._progress.items()}
        index = self._voters.committed_index(acked)
        return self._log.maybe_commit(index, self._term)

    def _bcast_append(self) -> None:
        """Send every follower what it lacks (as many messages as its window allows) and our
        commit index (an empty append if it lacks nothing)."""
        for peer in self._progress:
            if peer != self._id and self._send_append(peer):
                while self._send_append(peer, send_if_empty=False):
                    pass

    def _bcast_heartbeat(self) -> None:
        commit = self._log.committed
        for peer, pr in self._progress.items():
            if peer != self._id:
                self._send(Message(MsgType.HEARTBEAT, peer, self._id, self._term,
                                   commit=min(pr.match, commit)))

    def _send_append(self, to: int, send_if_empty: bool = True) -> bool:
        """Send `to` the entries from its `next` (or an empty append carrying the commit)."""
        pr = self._progress[to]
        if pr.is_paused():
            return False
        log = self._log
        prev = pr.next - 1
        try:
            prev_term = log.term(prev)
        except CompactedError:
            return False  # the follower needs a snapshot (issue 5)
        entries = log.entries_from(pr.next, self._cfg.max_size_per_msg)
        if not entries and not send_if_empty:
            return False
        self._send(Message(MsgType.APP, to, self._id, self._term, log_term=prev_term, index=prev,
                           entries=tuple(entries), commit=log.committed))
        pr.sent_entries(len(entries))
        return True
