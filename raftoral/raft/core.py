"""RaftCore: one Raft peer as a pure state machine (election, pre-vote, check-quorum, replication,
snapshots, membership, leadership transfer, ReadIndex). Stepped by tick()/step()/propose*();
every effect leaves through ready()/advance() (see Ready and docs/raft.md)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from raftoral.errors import (
    CompactedError,
    ConfChangeRejected,
    LeadershipTransferRejected,
    ProposalDropped,
    RaftoralError,
    ReadIndexDropped,
)
from raftoral.raft.confchange import ConfTracker, apply_change, encode_conf_entry
from raftoral.raft.config import RaftConfig
from raftoral.raft.log import RaftLog
from raftoral.raft.progress import Progress, ProgressState
from raftoral.raft.quorum import MajorityConfig, VoteResult
from raftoral.raft.read_only import ReadOnly, ReadRequest, decode_seq
from raftoral.raft.snapshot_transfer import SnapshotReceiver, SnapshotSender, SnapshotStats
from raftoral.raft.status import PeerProgress, RaftStatus
from raftoral.raft.storage import LogStorage
from raftoral.raft.types import (
    ConfChange,
    ConfState,
    Entry,
    EntryKind,
    HardState,
    Message,
    MsgType,
    RandomSource,
    ReadState,
    Ready,
    Role,
    Snapshot,
    SnapshotChunk,
    SnapshotMeta,
    SoftState,
)

_RESPONSE_TO = {MsgType.VOTE: MsgType.VOTE_RESP, MsgType.PRE_VOTE: MsgType.PRE_VOTE_RESP}
# Responses that promise local state (a vote, an appended entry, staged snapshot bytes) wait for
# the Ready to persist.
_AFTER_PERSIST = frozenset(
    {MsgType.APP_RESP, MsgType.VOTE_RESP, MsgType.PRE_VOTE_RESP, MsgType.SNAP_RESP}
)
_FROM_LEADER = frozenset(
    {MsgType.APP, MsgType.HEARTBEAT, MsgType.SNAP, MsgType.TIMEOUT_NOW, MsgType.READ_INDEX_RESP}
)
# The context of VOTE requests of a campaign started by TIMEOUT_NOW: it overrides the lease.
CAMPAIGN_TRANSFER = b"transfer"


def _load_confs(storage: LogStorage, conf: ConfState) -> ConfTracker:
    """The snapshot's configuration plus every CONF_CHANGE entry in the stored log."""
    first, last = storage.first_index(), storage.last_index()
    confs = ConfTracker(first - 1, conf)
    confs.on_append(first, storage.entries(first, last + 1))
    return confs


class RaftCore:
    """One Raft peer. Not thread-safe; the driver owns it and follows the Ready contract.

    Rule points that tests may override to plant bugs (the simulator's invariant checks must
    then fail):
      - `_can_grant_vote(msg) -> bool`: whether to grant a VOTE / PRE_VOTE request;
      - `_maybe_commit() -> bool`: the leader's commit rule (majority match, current term only).

    Self-acknowledgement happens in advance(): the candidate's own vote counts once the Ready
    carrying it is persisted, and the leader's own match index moves to what is durable.

    A configuration takes effect when its CONF_CHANGE entry is appended (on every node) and is
    reverted if that entry is truncated; see docs/raft.md.
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
        self._confs = _load_confs(storage, conf)
        self._conf = self._prev_conf = self._confs.conf
        self._voters = MajorityConfig(self._conf.voters)
        self._transferee = 0
        self._transfer_elapsed = 0
        self._reads = ReadOnly()
        self._waiting_reads: list[ReadRequest] = []
        self._read_states: list[ReadState] = []
        self._read_beat_pending = False
        self._receiver = SnapshotReceiver(storage)
        self._install: SnapshotMeta | None = None
        self._stats = SnapshotStats()
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

    def conf_at(self, index: int) -> ConfState:
        """The configuration in force at `index` (>= the snapshot's): what to record in a
        snapshot taken there, e.g. storage.compact(i, data, core.conf_at(i))."""
        return self._confs.conf_at(index)

    def log_term(self, index: int) -> int:
        """Term of the entry at `index` in the in-memory log (unstable tail included); 0 when
        the index is absent or compacted (the snapshot's own index answers its term)."""
        return self._log.term_or_zero(index)

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
            conf=self._conf,
            lead_transferee=self._transferee,
            snapshots=msgspec.structs.replace(self._stats),
        )

    # -- inputs --------------------------------------------------------------------------------

    def tick(self) -> None:
        if self._role == Role.LEADER:
            self._tick_heartbeat()
        else:
            self._tick_election()

    def campaign(self) -> None:
        """Start an election now (pre-vote first when enabled); no-op on a leader or non-voter."""
        if self._role == Role.LEADER or not self._promotable():
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
        if self._transferee:
            raise ProposalDropped(
                f"leadership is moving to node {self._transferee}; retry there shortly",
                leader=self._transferee,
            )
        first = self._log.last_index() + 1
        term = self._term
        self._append([Entry(term, first + i, EntryKind.NORMAL, d) for i, d in enumerate(datas)])
        return list(range(first, first + len(datas)))

    def propose_conf_change(self, cc: ConfChange) -> int:
        """Append a single-server membership change on the leader; its index. It takes effect at
        once (on append); raises ConfChangeRejected when it may not be proposed now."""
        self._check_conf_change_allowed()
        conf = apply_change(self._conf, cc)
        index = self._log.last_index() + 1
        self._append([Entry(self._term, index, EntryKind.CONF_CHANGE, encode_conf_entry(cc, conf))])
        return index

    def transfer_leadership(self, target: int) -> None:
        """Hand leadership to voter `target`: proposals are dropped meanwhile; the target is
        caught up, then told to campaign (TIMEOUT_NOW). Gives up after election_tick ticks."""
        if self._role != Role.LEADER:
            raise LeadershipTransferRejected(
                f"node {self._id} is not the leader; ask node {self._lead or 'unknown'}"
            )
        if target == self._id or target == self._transferee:
            return
        if target not in self._voters:
            kind = "a learner" if target in self._conf.learners else "not a member"
            raise LeadershipTransferRejected(f"node {target} is {kind}; transfer to a voter")
        self._transferee, self._transfer_elapsed = target, 0
        if self._progress[target].match == self._log.last_index():
            self._send_timeout_now(target)
        else:
            self._send_append(target)

    def read_index(self, context: bytes) -> None:
        """Ask for a linearizable read point; a ReadState(index, context) comes in a later Ready
        once leadership is confirmed (forwarded to the leader on a follower). Raises
        ReadIndexDropped when no leader is known; requests pending at a leader change are
        dropped, so the caller retries after a timeout."""
        if self._role == Role.LEADER:
            self._read(ReadRequest(0, context, self._id))
        elif self._role == Role.FOLLOWER and self._lead:
            self._send(Message(MsgType.READ_INDEX, self._lead, self._id, self._term,
                               context=context))
        else:
            raise ReadIndexDropped(f"node {self._id} knows no leader; retry shortly")

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
            or self._read_beat_pending
            or self._msgs
            or self._msgs_after
            or self._log.has_next_unstable()
            or self._hard_state() != self._prev_hs
            or self._soft_state() != self._prev_ss
            or self._log.has_next_committed()
            or self._receiver.pending
            or self._install is not None
            or self._read_states
            or self._conf != self._prev_conf
        )

    def ready(self) -> Ready:
        if self._outstanding:
            raise RaftoralError("call advance() with the previous Ready before asking for another")
        self._flush_broadcasts()
        log = self._log
        hs, ss = self._hard_state(), self._soft_state()
        entries = log.next_unstable()
        committed = tuple(log.next_committed(self._cfg.max_committed_size_per_ready))
        chunks = self._receiver.take_pending()
        snapshot = None if self._install is None else Snapshot(self._install)
        prev = self._prev_hs
        rd = Ready(
            hard_state=hs if hs != prev else None,
            entries=entries,
            snapshot=snapshot,
            messages=tuple(self._msgs),
            messages_after_persist=tuple(self._msgs_after),
            committed_entries=committed,
            soft_state=ss if ss != self._prev_ss else None,
            must_sync=bool(entries or chunks or snapshot)
            or hs.term != prev.term
            or hs.vote != prev.vote,
            snapshot_chunks=chunks,
            read_states=tuple(self._read_states),
            conf_state=self._conf if self._conf != self._prev_conf else None,
        )
        self._msgs.clear()
        self._msgs_after.clear()
        self._read_states.clear()
        self._install = None
        log.accept_unstable()
        if committed:
            log.accept_applying(committed[-1].index)
        self._prev_hs, self._prev_ss, self._prev_conf = hs, ss, self._conf
        self._outstanding = True
        return rd

    def advance(self, rd: Ready) -> None:
        """The driver persisted `rd`, sent its messages and applied its committed entries."""
        if not self._outstanding:
            raise RaftoralError("advance() called without an outstanding Ready")
        self._outstanding = False
        if rd.snapshot is not None:
            self._log.snapshot_installed(rd.snapshot.meta)
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

    def _flush_broadcasts(self) -> None:
        """Send the appends of batched proposals and the heartbeat round of batched reads."""
        leader = self._role == Role.LEADER
        if self._bcast_pending:
            self._bcast_pending = False
            if leader:
                self._bcast_append()
        if self._read_beat_pending:
            self._read_beat_pending = False
            if leader:
                self._bcast_heartbeat()

    def _append(self, entries: list[Entry]) -> None:
        """Append on the leader; the entries go out with the next Ready."""
        self._log.append(entries)
        self._bcast_pending = True
        self._sync_conf()

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
        self._transferee = 0
        self._reads = ReadOnly()  # unanswered reads are dropped: the callers retry
        self._waiting_reads = []
        self._read_beat_pending = False

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
        self._progress = {m: Progress(0, nxt, cap) for m in sorted(self._peers())}
        me = self._progress.get(self._id)
        if me is not None:
            me.match = log.stable_last_index()  # only what is durable counts towards commit
            me.become_replicate()
            me.next = nxt
            me.recent_active = True
        log.append([Entry(self._term, nxt)])  # the no-op that lets this term commit
        self._sync_conf()
        self._bcast_append()

    # -- ticks ---------------------------------------------------------------------------------

    def _tick_election(self) -> None:
        self._election_elapsed += 1
        if self._election_elapsed >= self._timeout and self._promotable():
            self._election_elapsed = 0
            self._campaign(pre_vote=self._cfg.pre_vote)

    def _promotable(self) -> bool:
        """May campaign: not in the middle of installing a snapshot, and a voter of its latest
        configuration or of the committed one. A voter whose removal is appended but not yet
        committed may still be needed to elect a leader (dissertation §4.2.2; simulator seed
        256): it campaigns without counting its own vote. Learners, nodes whose removal is
        committed and nodes with no configuration yet never campaign."""
        if self._log.pending_snapshot is not None:
            return False
        if self._id in self._voters:
            return True
        return self._id in self._confs.conf_at(self._log.committed).voters

    def _tick_heartbeat(self) -> None:
        self._heartbeat_elapsed += 1
        self._election_elapsed += 1
        if self._transferee:
            self._transfer_elapsed += 1
            if self._transfer_elapsed >= self._cfg.election_tick:
                self._transferee = 0  # the target did not take over in time: lead on
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

    def _campaign(self, pre_vote: bool, transfer: bool = False) -> None:
        if pre_vote:
            self._become_pre_candidate()
            kind, term = MsgType.PRE_VOTE, self._term + 1
        else:
            self._become_candidate()
            kind, term = MsgType.VOTE, self._term
        last = self._log.last_index()
        last_term = self._log.last_term()
        ctx = CAMPAIGN_TRANSFER if transfer else b""
        for v in self._voters.voters:
            if v != self._id:
                self._send(Message(kind, v, self._id, term, log_term=last_term, index=last,
                                   context=ctx))
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
        forced = msg.context == CAMPAIGN_TRANSFER
        if kind in _RESPONSE_TO and self._cfg.check_quorum and self._in_lease() and not forced:
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
        if kind in (MsgType.APP, MsgType.HEARTBEAT, MsgType.SNAP):
            self._become_follower(msg.term, msg.sender)  # a leader won this term
            self._step_follower(msg)
            return
        mine = MsgType.PRE_VOTE_RESP if self._role == Role.PRE_CANDIDATE else MsgType.VOTE_RESP
        if kind == mine:
            self._poll(msg.sender, not msg.reject)

    # -- follower ------------------------------------------------------------------------------

    def _step_follower(self, msg: Message) -> None:
        kind = msg.type
        if kind in (MsgType.APP, MsgType.HEARTBEAT, MsgType.SNAP):
            self._election_elapsed = 0
            self._lead = msg.sender
        if kind == MsgType.APP:
            self._handle_append(msg)
        elif kind == MsgType.HEARTBEAT:
            self._log.commit_to(msg.commit)
            self._send(Message(MsgType.HEARTBEAT_RESP, msg.sender, self._id, self._term,
                               context=msg.context))
        elif kind == MsgType.SNAP:
            self._handle_snapshot(msg)
        elif kind == MsgType.TIMEOUT_NOW and self._promotable():
            self._campaign(pre_vote=False, transfer=True)  # skip pre-vote: the leader asked
        elif kind == MsgType.READ_INDEX_RESP:
            self._read_states.append(ReadState(msg.index, msg.context))

    def _handle_append(self, msg: Message) -> None:
        log = self._log
        if msg.index < log.committed:
            self._send(Message(MsgType.APP_RESP, msg.sender, self._id, self._term,
                               index=log.committed))
            return
        last_new = log.maybe_append(msg.index, msg.log_term, msg.commit, msg.entries)
        if last_new is not None:
            self._sync_conf()
            self._send(Message(MsgType.APP_RESP, msg.sender, self._id, self._term, index=last_new))
            return
        # Hint the largest index at which our log can still match the leader's: skip our whole
        # tail of terms above msg.log_term in one round trip.
        hint, hint_term = log.find_conflict_by_term(msg.index, msg.log_term)
        self._send(Message(MsgType.APP_RESP, msg.sender, self._id, self._term, index=msg.index,
                           reject=True, reject_hint=hint, log_term=hint_term))

    def _handle_snapshot(self, msg: Message) -> None:
        """One chunk of the leader's snapshot: stage it; install once the last one is staged."""
        snap, log = msg.snapshot, self._log
        if snap is None:
            return
        meta = snap.meta
        if meta.index <= log.committed or log.match_term(meta.index, meta.term):
            log.commit_to(meta.index)  # we have it all already: no transfer needed
            self._send(Message(MsgType.APP_RESP, msg.sender, self._id, self._term,
                               index=log.committed))
            return
        if self._install is not None:
            # An install waits for the next Ready; a chunk staged in the same Ready would replace
            # its staged bytes before the install saves them (simulator seed 528). Drop it: the
            # leader resends after a heartbeat round.
            return
        receiver = self._receiver
        before = receiver.size
        accepted = receiver.offer(SnapshotChunk(meta, msg.sender, msg.offset, snap.data))
        self._stats.received_bytes += receiver.size - before
        if accepted and msg.done and receiver.size == msg.offset + len(snap.data):
            self._install_snapshot(meta)
            self._send(Message(MsgType.APP_RESP, msg.sender, self._id, self._term,
                               index=meta.index))
            return
        self._send(Message(MsgType.SNAP_RESP, msg.sender, self._id, self._term, index=meta.index,
                           log_term=meta.term, offset=receiver.size, reject=not accepted))

    def _install_snapshot(self, meta: SnapshotMeta) -> None:
        """The staged snapshot is complete: it replaces our log and configuration; the next
        Ready asks the driver to install it."""
        self._log.restore(meta)
        self._confs.reset(meta.index, meta.conf)
        self._sync_conf()
        self._install = meta
        self._receiver.forget()
        self._stats.received += 1

    # -- membership ----------------------------------------------------------------------------

    def _members(self) -> tuple[int, ...]:
        return self._conf.voters + self._conf.learners

    def _peers(self) -> set[int]:
        """Whom the leader replicates to: the members of the latest configuration and of the
        committed one. A node whose removal is appended but not committed may still campaign
        (see _promotable), so it keeps receiving heartbeats and appends until the removal
        commits; otherwise it times out and, without pre-vote or check-quorum, deposes every
        leader with a higher term while the removal waits for a lagging voter (seed 7285).
        Its acknowledgements never count: quorums are computed over the latest voters."""
        committed = self._confs.conf_at(self._log.committed)
        return {*self._members(), *committed.voters, *committed.learners}

    def _sync_conf(self) -> None:
        """Track the CONF_CHANGE entries appended or truncated since the last call and switch
        to the configuration now latest in the log."""
        log = self._log
        first = log.take_appended_from()
        if first is not None:
            self._confs.on_append(first, log.slice(first, log.last_index() + 1, 1 << 62))
        if self._confs.conf != self._conf:
            self._switch_conf(self._confs.conf)

    def _switch_conf(self, conf: ConfState) -> None:
        self._conf = conf
        self._voters = MajorityConfig(conf.voters)
        if self._role != Role.LEADER:
            return
        self._track_peers()
        self._commit_and_broadcast()  # a smaller quorum may commit more

    def _track_peers(self) -> None:
        """On the leader: a progress for every peer (_peers), none for anyone else."""
        peers = self._peers()
        for gone in self._progress.keys() - peers:
            del self._progress[gone]
        nxt, cap = self._log.last_index() + 1, self._cfg.max_inflight_msgs
        for new in sorted(peers - self._progress.keys()):
            self._progress[new] = Progress(0, nxt, cap)

    def _check_conf_change_allowed(self) -> None:
        """Raise ConfChangeRejected unless a single-server change may be proposed now: on the
        leader, not transferring, with an entry of its own term committed (the 2015 fix) and the
        previous change committed (one change at a time)."""
        if self._role != Role.LEADER:
            raise ConfChangeRejected(
                f"node {self._id} is not the leader; retry on node {self._lead or 'unknown'}",
                leader=self._lead,
            )
        if self._transferee:
            raise ConfChangeRejected(
                f"leadership is moving to node {self._transferee}; retry there",
                leader=self._transferee,
            )
        if not self._committed_in_term():
            raise ConfChangeRejected(
                f"leader {self._id} has not committed an entry of its term {self._term} yet;"
                " retry shortly",
                leader=self._id,
            )
        pending = self._confs.last_change_index()
        if pending > self._log.committed:
            raise ConfChangeRejected(
                f"the configuration change at index {pending} is not committed yet; one change"
                " at a time, retry once it commits",
                leader=self._id,
            )

    def _committed_in_term(self) -> bool:
        return self._log.term_or_zero(self._log.committed) == self._term

    # -- leader --------------------------------------------------------------------------------

    def _step_leader(self, msg: Message) -> None:
        pr = self._progress.get(msg.sender)
        if pr is None or msg.sender == self._id:
            return
        kind = msg.type
        if kind == MsgType.APP_RESP:
            pr.recent_active = True
            if msg.reject:
                self._on_append_rejected(msg, pr)
            else:
                self._on_append_accepted(msg, pr)
        elif kind == MsgType.HEARTBEAT_RESP:
            self._on_heartbeat_resp(msg, pr)
        elif kind == MsgType.SNAP_RESP:
            self._on_snapshot_resp(msg, pr)
        elif kind == MsgType.READ_INDEX:
            self._read(ReadRequest(0, msg.context, msg.sender))

    def _on_heartbeat_resp(self, msg: Message, pr: Progress) -> None:
        pr.recent_active = True
        pr.probe_sent = False
        if pr.transfer is not None:
            pr.transfer.on_heartbeat()
            self._send_snapshot_chunks(msg.sender, pr)
        else:
            if pr.state == ProgressState.REPLICATE and pr.inflights.full():
                pr.inflights.free_first_one()  # all in flight may be lost: let one through
            if pr.match < self._log.last_index():
                self._send_append(msg.sender)
        seq = decode_seq(msg.context)
        if seq:
            self._answer_reads(self._reads.ack(msg.sender, seq, self._voters))

    def _on_append_rejected(self, msg: Message, pr: Progress) -> None:
        if pr.state == ProgressState.SNAPSHOT:
            return  # a stale reject: the snapshot decides where the follower's log resumes
        hint = msg.reject_hint
        if msg.log_term > 0:
            # Skip every index where our term exceeds the follower's term at the hint.
            hint = self._log.find_conflict_by_term(hint, msg.log_term)[0]
        if pr.maybe_decr_to(msg.index, hint):
            if pr.state == ProgressState.REPLICATE:
                pr.become_probe()
            self._send_append(msg.sender)

    def _on_append_accepted(self, msg: Message, pr: Progress) -> None:
        if pr.state == ProgressState.SNAPSHOT and not self._snapshot_done(msg, pr):
            return
        probing = pr.state == ProgressState.PROBE
        if not (pr.maybe_update(msg.index) or (probing and pr.match == msg.index)):
            return
        if probing:
            pr.become_replicate()
        elif pr.state == ProgressState.REPLICATE:
            pr.inflights.free_le(msg.index)
        self._commit_and_broadcast()
        if self._role != Role.LEADER:
            return  # our own removal committed
        while self._send_append(msg.sender, send_if_empty=False):
            pass
        if msg.sender == self._transferee and pr.match == self._log.last_index():
            self._send_timeout_now(msg.sender)

    def _self_ack(self) -> None:
        """After persisting, the leader's own log counts towards commit up to what is durable."""
        me = self._progress.get(self._id)
        durable = self._log.stable_last_index()
        if me is not None and me.maybe_update(durable):
            self._commit_and_broadcast()

    def _commit_and_broadcast(self) -> None:
        """Commit what a quorum holds; then tell the followers, start the reads that waited for
        a commit in this term, and step down if the committed config no longer has us."""
        if not self._maybe_commit():
            return
        self._bcast_append()  # removed nodes hear that their removal committed, then are dropped
        self._track_peers()
        if self._waiting_reads and self._committed_in_term():
            waiting, self._waiting_reads = self._waiting_reads, []
            for request in waiting:
                self._start_read(request)
        if self._id not in self._voters and self._confs.last_change_index() <= self._log.committed:
            self._become_follower(self._term, 0)  # our removal committed: stop leading

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
        ctx = self._reads.heartbeat_context()
        for peer, pr in self._progress.items():
            if peer != self._id:
                self._send(Message(MsgType.HEARTBEAT, peer, self._id, self._term,
                                   commit=min(pr.match, commit), context=ctx))

    def _send_append(self, to: int, send_if_empty: bool = True) -> bool:
        """Send `to` the entries from its `next` (or an empty append carrying the commit); a
        snapshot instead when they are compacted. False if nothing was sent (paused)."""
        pr = self._progress[to]
        if pr.is_paused():
            return False
        log = self._log
        prev = pr.next - 1
        try:
            prev_term = log.term(prev)
            entries = log.entries_from(pr.next, self._cfg.max_size_per_msg)
        except CompactedError:
            pr.become_snapshot(SnapshotSender(log.storage.snapshot_meta()))
            self._send_snapshot_chunks(to, pr)
            return False
        if not entries and not send_if_empty:
            return False
        self._send(Message(MsgType.APP, to, self._id, self._term, log_term=prev_term, index=prev,
                           entries=tuple(entries), commit=log.committed))
        pr.sent_entries(len(entries))
        return True

    def _send_timeout_now(self, to: int) -> None:
        self._send(Message(MsgType.TIMEOUT_NOW, to, self._id, self._term))

    # -- snapshot sending ----------------------------------------------------------------------

    def _send_snapshot_chunks(self, to: int, pr: Progress) -> None:
        """Send chunks of the latest snapshot until the window is full (restarting the transfer
        if the snapshot was replaced by a newer compaction meanwhile)."""
        storage = self._log.storage
        meta = storage.snapshot_meta()
        transfer = pr.transfer
        if transfer is None or transfer.meta != meta:
            transfer = SnapshotSender(meta)
            pr.become_snapshot(transfer)
        size, window = self._cfg.max_snapshot_chunk, self._cfg.snapshot_window
        while transfer.can_send(size, window):
            data = storage.snapshot_chunk(transfer.next, size)
            done = len(data) < size
            self._send(Message(MsgType.SNAP, to, self._id, self._term, offset=transfer.next,
                               snapshot=Snapshot(meta, data), done=done))
            transfer.sent(len(data), done)
            self._stats.sent_bytes += len(data)

    def _on_snapshot_resp(self, msg: Message, pr: Progress) -> None:
        pr.recent_active = True
        transfer = pr.transfer
        if transfer is None or (msg.index, msg.log_term) != (transfer.meta.index,
                                                             transfer.meta.term):
            return  # about another (older) transfer
        if msg.reject:
            transfer.rewind(msg.offset)
        else:
            transfer.on_ack(msg.offset)
        self._send_snapshot_chunks(msg.sender, pr)

    def _snapshot_done(self, msg: Message, pr: Progress) -> bool:
        """An append ack while sending a snapshot: the follower installed it (or had the entries
        anyway). True once it can be served from the log again."""
        pr.maybe_update(msg.index)
        if pr.match + 1 < self._log.first_index():
            return False
        if pr.transfer is not None and pr.match >= pr.transfer.meta.index:
            self._stats.sent += 1
        pr.become_probe()
        return True

    # -- ReadIndex -----------------------------------------------------------------------------

    def _read(self, request: ReadRequest) -> None:
        """A read on the leader: wait for a commit in our term (our commit index may lag until
        then), else start confirming leadership."""
        if self._committed_in_term():
            self._start_read(request)
        else:
            self._waiting_reads.append(request)

    def _start_read(self, request: ReadRequest) -> None:
        """Record the read at our commit index and confirm it with the next heartbeat round."""
        read = ReadRequest(self._log.committed, request.context, request.sender)
        seq = self._reads.add(read)
        self._answer_reads(self._reads.ack(self._id, seq, self._voters))
        if len(self._reads):
            self._read_beat_pending = True

    def _answer_reads(self, reads: list[ReadRequest]) -> None:
        for read in reads:
            if read.sender == self._id:
                self._read_states.append(ReadState(read.index, read.context))
            else:
                self._send(Message(MsgType.READ_INDEX_RESP, read.sender, self._id, self._term,
                                   index=read.index, context=read.context))
