"""The Raft safety invariants, checked incrementally: election, logs, state machine, snapshots,
acknowledged proposals, one pending conf change, linearizable reads (raises InvariantViolation)."""

from __future__ import annotations

from collections.abc import Sequence

from raftoral.errors import CompactedError, UnavailableError
from raftoral.raft.types import ConfState, Entry, Role, SnapshotMeta
from raftoral.sim.conf_watch import ConfWatch
from raftoral.sim.node import SimNode
from raftoral.sim.reads import ReadChecker
from raftoral.sim.state_machine import ZERO, chain
from raftoral.sim.violation import InvariantViolation, Proposal, Violation

__all__ = ["Checker", "InvariantViolation", "Proposal", "Violation"]


def _show(entry: Entry) -> str:
    return f"(i{entry.index} t{entry.term} {entry.data!r})"


class Checker:
    """Watches writes and applies (as a NodeObserver) and scans the nodes after every step.

    Commits are learnt from leaders: when a leader's commit index passes an index for the first
    time, that entry is committed in the leader's term. The applied entries give their contents,
    and what a proposer applied with the term it proposed in is acknowledged to its client.
    """

    def __init__(self, conf: ConfState | None = None) -> None:
        self.checks = 0
        self.leaders: dict[int, int] = {}  # term -> the node that led it
        self.committed: dict[int, Entry] = {}  # index -> the entry applied there
        self._commits: list[tuple[int, int]] = []  # [index - 1] -> (commit term, entry term)
        self.acked: dict[int, Entry] = {}  # index -> an acknowledged proposal
        self._pending: dict[tuple[int, int, int], Proposal] = {}  # (node, incarnation, index)
        self._entry_links: dict[tuple[int, int], tuple[Entry, int]] = {}  # see _check_matching
        self._last_write: dict[int, tuple[int, Role, int]] = {}  # node -> (incarnation, role, term)
        self._reign: dict[int, tuple[int, int, int]] = {}  # node -> (incarnation, term, last index)
        self.digests: dict[int, bytes] = {0: ZERO}  # index -> state digest after applying 1..index
        self.confs = ConfWatch(conf or ConfState())
        self.reads = ReadChecker()

    # -- observer hooks --------------------------------------------------------------------------

    def proposed(self, proposal: Proposal) -> None:
        self._pending[(proposal.node, proposal.incarnation, proposal.index)] = proposal

    def on_write(
        self,
        node: SimNode,
        role: Role,
        term: int,
        entries: Sequence[Entry],
        snapshot: SnapshotMeta | None = None,
    ) -> None:
        self._check_append_only(node, role, term, entries[0].index)
        self._check_matching(node, entries, snapshot)
        self.confs.written(node.id, entries)

    def on_apply(self, node: SimNode, entry: Entry) -> None:
        self._check_apply_order(node, entry)
        self._note_commit(node)
        self._check_applied_was_committed(node, entry)
        self._check_same_apply(node, entry)
        self._note_digest(node, entry)
        proposal = self._pending.pop((node.id, node.incarnation, entry.index), None)
        if proposal is not None and (proposal.term, proposal.data) == (entry.term, entry.data):
            self.acked[entry.index] = entry
            self.reads.acknowledged(entry.index)

    def on_restore(self, node: SimNode, meta: SnapshotMeta) -> None:
        """A state machine restored from the snapshot `meta` must equal the state of any node
        that applied exactly the entries 1..meta.index."""
        self.confs.rescan(node.id, node.storage)
        self.checks += 1
        sm = node.sm
        problem = sm.corrupt
        if problem is None and sm.index != meta.index:
            problem = f"it restored index {sm.index} from the snapshot of index {meta.index}"
        if problem is None and self.digests.get(meta.index) != sm.digest:
            problem = f"its state at index {meta.index} differs from the applied prefix"
        if problem is None and meta.index > 0:
            problem = self._snapshot_not_committed(meta)
        if problem is not None:
            raise InvariantViolation(
                "snapshot_state", f"node {node.id} restored a snapshot: {problem}"
            )

    def on_read(self, node: SimNode, context: bytes, index: int) -> None:
        self.checks += 1
        self.reads.answered(node.id, context, index)

    # -- per-step scan ---------------------------------------------------------------------------

    def check(self, nodes: Sequence[SimNode]) -> None:
        """Election safety, leader completeness, append-only and at most one pending
        configuration change for every leader."""
        for node in nodes:
            if node.core is not None and node.core.role == Role.LEADER:
                self._check_leader(node, node.core.term, node.core.last_index)
                self._check_one_conf_change(node)
            self._note_commit(node)  # also a leader that just stepped down (its removal)

    def check_final(self, nodes: Sequence[SimNode]) -> None:
        """After liveness (the members applied past every proposal of the chaos phase): each
        of `nodes` applied every acknowledged proposal, i.e. its state is the applied prefix
        of the committed log up to an index at or past the last acknowledged one."""
        acked_max = max(self.acked, default=0)
        for node in nodes:
            self.checks += 1
            sm = node.sm
            if sm.index < acked_max:
                raise InvariantViolation(
                    "acked_proposal_lost",
                    f"node {node.id} applied only up to index {sm.index}; "
                    f"{_show(self.acked[acked_max])} was acknowledged",
                )
            if self.digests.get(sm.index) != sm.digest:
                raise InvariantViolation(
                    "acked_proposal_lost",
                    f"node {node.id}'s state at index {sm.index} is not the committed prefix",
                )

    # -- the individual rules --------------------------------------------------------------------

    def _check_leader(self, node: SimNode, term: int, last_index: int) -> None:
        self.checks += 1
        holder = self.leaders.setdefault(term, node.id)
        if holder != node.id:
            raise InvariantViolation(
                "election_safety", f"nodes {holder} and {node.id} both lead term {term}"
            )
        reign = self._reign.get(node.id)
        if reign is None or reign[:2] != (node.incarnation, term):
            self._reign[node.id] = (node.incarnation, term, last_index)
            self._check_leader_complete(node, term)
        elif last_index < reign[2]:
            raise InvariantViolation(
                "leader_append_only",
                f"leader {node.id} of term {term} shrank its log from {reign[2]} to {last_index}",
            )

    def _check_append_only(self, node: SimNode, role: Role, term: int, first: int) -> None:
        """Between two writes made while leading the same term, the log may only grow."""
        previous = self._last_write.get(node.id)
        self._last_write[node.id] = (node.incarnation, role, term)
        if previous != (node.incarnation, Role.LEADER, term) or role != Role.LEADER:
            return
        self.checks += 1
        last = node.storage.last_index()
        if first != last + 1:
            raise InvariantViolation(
                "leader_append_only",
                f"leader {node.id} of term {term} rewrote its log from index {first} "
                f"(last index was {last})",
            )

    def _check_matching(
        self, node: SimNode, entries: Sequence[Entry], snapshot: SnapshotMeta | None
    ) -> None:
        """Log matching, by induction: an (index, term) names one entry and one predecessor term,
        so two logs that share an (index, term) share the whole prefix up to it."""
        prev = entries[0].index - 1
        if snapshot is not None and prev == snapshot.index:
            prev_term = snapshot.term
        else:
            try:
                prev_term = node.storage.term(prev)
            except (CompactedError, UnavailableError):
                raise InvariantViolation(
                    "log_matching",
                    f"node {node.id} wrote {_show(entries[0])} where its log has no index {prev}",
                ) from None
        for entry in entries:
            self.checks += 1
            link = (entry, prev_term)
            seen = self._entry_links.setdefault((entry.index, entry.term), link)
            if seen != link:
                raise InvariantViolation(
                    "log_matching",
                    f"node {node.id} wrote {_show(entry)} after term {prev_term}; another log "
                    f"has {_show(seen[0])} after term {seen[1]}",
                )
            prev_term = entry.term

    def _check_apply_order(self, node: SimNode, entry: Entry) -> None:
        """Applies go one index at a time, and only entries already in the node's stable log."""
        self.checks += 1
        expected = node.sm.index + 1
        if entry.index != expected:
            raise InvariantViolation(
                "state_machine_safety",
                f"node {node.id} applied index {entry.index}, expected {expected}",
            )
        stored = node.storage.entries(entry.index, entry.index + 1)
        if stored != [entry]:
            raise InvariantViolation(
                "state_machine_safety",
                f"node {node.id} applied {_show(entry)} but its log holds {stored}",
            )

    def _note_commit(self, node: SimNode) -> None:
        """Record the entries a leader's commit index passes for the first time."""
        core = node.core
        if core is None or not self._leads_or_led(node, core.term):
            return
        for index in range(len(self._commits) + 1, core.commit_index + 1):
            self._commits.append((core.term, node.log_term(index)))

    def _leads_or_led(self, node: SimNode, term: int) -> bool:
        """Whether the node's commit index is a leader's: it leads `term`, or led it in this
        incarnation and stepped down without leaving the term (e.g. its removal committed)."""
        assert node.core is not None
        if node.core.role == Role.LEADER:
            return True
        reign = self._reign.get(node.id)
        return reign is not None and reign[:2] == (node.incarnation, term)

    def _check_same_apply(self, node: SimNode, entry: Entry) -> None:
        """No two nodes apply different entries at one index."""
        self.checks += 1
        known = self.committed.setdefault(entry.index, entry)
        if known != entry:
            raise InvariantViolation(
                "state_machine_safety",
                f"node {node.id} applied {_show(entry)} where another applied {_show(known)}",
            )

    def _check_applied_was_committed(self, node: SimNode, entry: Entry) -> None:
        """A node applies only what a leader committed: that index, with that term."""
        self.checks += 1
        if entry.index > len(self._commits):
            raise InvariantViolation(
                "state_machine_safety",
                f"node {node.id} applied {_show(entry)} but leaders committed only up to "
                f"index {len(self._commits)}",
            )
        commit_term, entry_term = self._commits[entry.index - 1]
        if entry.term != entry_term:
            raise InvariantViolation(
                "state_machine_safety",
                f"node {node.id} applied {_show(entry)} where the leader of term {commit_term} "
                f"committed an entry of term {entry_term}",
            )

    def _check_leader_complete(self, node: SimNode, term: int) -> None:
        """A new leader's log holds every entry committed in an earlier term. (An entry committed
        in a later term need not be there: a stale candidate may still count old votes.) Entries
        before its snapshot are covered by it (its own index is checked: the snapshot's term)."""
        start = max(1, node.storage.snapshot_meta().index)
        for index, (commit_term, entry_term) in enumerate(self._commits[start - 1 :], start):
            self.checks += 1
            if commit_term < term and node.log_term(index) != entry_term:
                invariant = "acked_proposal_lost" if index in self.acked else "leader_completeness"
                raise InvariantViolation(
                    invariant,
                    f"node {node.id} leads term {term} without the entry of term {entry_term} "
                    f"committed at index {index} in term {commit_term} (its log has term "
                    f"{node.log_term(index)} there)",
                )

    def _note_digest(self, node: SimNode, entry: Entry) -> None:
        """The node's state before `entry` must be the canonical state at entry.index - 1 (the
        first node to reach an index defines it); record the state after it."""
        self.checks += 1
        index = entry.index
        if self.digests.get(index - 1) != node.sm.digest:
            raise InvariantViolation(
                "snapshot_state",
                f"node {node.id} applies {_show(entry)} on a state that differs from the "
                f"applied prefix 1..{index - 1}",
            )
        if index not in self.digests:
            self.digests[index] = chain(node.sm.digest, entry)
            self.confs.committed_entry(entry)

    def _snapshot_not_committed(self, meta: SnapshotMeta) -> str | None:
        """Why a snapshot's (index, term) is not a committed entry (None if it is)."""
        if meta.index > len(self._commits):
            return f"index {meta.index} is beyond the commits ({len(self._commits)})"
        entry_term = self._commits[meta.index - 1][1]
        if entry_term != meta.term:
            return f"its term {meta.term} at {meta.index} is not the committed {entry_term}"
        return None

    def _check_one_conf_change(self, node: SimNode) -> None:
        """At most one configuration change is uncommitted in a leader's (stored) log."""
        self.checks += 1
        pending = self.confs.pending(node.id, len(self._commits))
        if len(pending) > 1:
            raise InvariantViolation(
                "conf_change_pending",
                f"leader {node.id} has {len(pending)} uncommitted configuration changes in its "
                f"log, at indexes {sorted(pending)}",
            )
