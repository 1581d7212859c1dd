"""The safety invariants of Raft, checked incrementally as the simulation runs.

Election safety, leader append-only, log matching, leader completeness, state machine safety and
no acknowledged proposal lost; a breach raises InvariantViolation with the details.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from raftoral.errors import RaftoralError
from raftoral.raft.types import Entry, Role
from raftoral.sim.node import SimNode


@dataclass(frozen=True)
class Violation:
    """Which invariant broke (a stable name) and what was seen."""

    invariant: str
    detail: str


class InvariantViolation(RaftoralError):
    """A simulated cluster broke a Raft invariant; `violation` says which and how."""

    code = "invariant_violation"

    def __init__(self, invariant: str, detail: str) -> None:
        super().__init__(f"{invariant}: {detail}")
        self.violation = Violation(invariant, detail)


@dataclass(frozen=True)
class Proposal:
    """A client's proposal accepted by a leader, awaiting that leader's apply to be acknowledged."""

    node: int
    incarnation: int
    index: int
    term: int
    data: bytes


def _show(entry: Entry) -> str:
    return f"(i{entry.index} t{entry.term} {entry.data!r})"


class Checker:
    """Watches writes and applies (as a NodeObserver) and scans the nodes after every step.

    Commits are learnt from leaders: when a leader's commit index passes an index for the first
    time, that entry is committed in the leader's term. The applied entries give their contents,
    and what a proposer applied with the term it proposed in is acknowledged to its client.
    """

    def __init__(self) -> None:
        self.checks = 0
        self.leaders: dict[int, int] = {}  # term -> the node that led it
        self.committed: dict[int, Entry] = {}  # index -> the entry applied there
        self._commits: list[tuple[int, int]] = []  # [index - 1] -> (commit term, entry term)
        self.acked: dict[int, Entry] = {}  # index -> an acknowledged proposal
        self._pending: dict[tuple[int, int, int], Proposal] = {}  # (node, incarnation, index)
        self._entry_links: dict[tuple[int, int], tuple[Entry, int]] = {}  # see _check_matching
        self._last_write: dict[int, tuple[int, Role, int]] = {}  # node -> (incarnation, role, term)
        self._reign: dict[int, tuple[int, int, int]] = {}  # node -> (incarnation, term, last index)

    # -- observer hooks --------------------------------------------------------------------------

    def proposed(self, proposal: Proposal) -> None:
        self._pending[(proposal.node, proposal.incarnation, proposal.index)] = proposal

    def on_write(self, node: SimNode, role: Role, term: int, entries: Sequence[Entry]) -> None:
        self._check_append_only(node, role, term, entries[0].index)
        self._check_matching(node, entries)

    def on_apply(self, node: SimNode, entry: Entry) -> None:
        self._check_apply_order(node, entry)
        self._note_commit(node)
        self._check_applied_was_committed(node, entry)
        self._check_same_apply(node, entry)
        proposal = self._pending.pop((node.id, node.incarnation, entry.index), None)
        if proposal is not None and (proposal.term, proposal.data) == (entry.term, entry.data):
            self.acked[entry.index] = entry

    # -- per-step scan ---------------------------------------------------------------------------

    def check(self, nodes: Sequence[SimNode]) -> None:
        """Election safety, leader completeness and append-only for every leader."""
        for node in nodes:
            if node.core is not None and node.core.role == Role.LEADER:
                self._check_leader(node, node.core.term, node.core.last_index)
                self._note_commit(node)

    def check_final(self, nodes: Sequence[SimNode]) -> None:
        """After liveness (every node applied past every proposal of the chaos phase): every
        node applied every acknowledged proposal."""
        for node in nodes:
            for index, entry in sorted(self.acked.items()):
                self.checks += 1
                applied = node.applied[index - 1] if index <= len(node.applied) else None
                if applied != entry:
                    raise InvariantViolation(
                        "acked_proposal_lost",
                        f"node {node.id} applied {_show(applied) if applied else 'nothing'} at "
                        f"index {index} where {_show(entry)} was acknowledged",
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

    def _check_matching(self, node: SimNode, entries: Sequence[Entry]) -> None:
        """Log matching, by induction: an (index, term) names one entry and one predecessor term,
        so two logs that share an (index, term) share the whole prefix up to it."""
        prev_term = node.storage.term(entries[0].index - 1)
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
        expected = len(node.applied) + 1
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
        if core is None or core.role != Role.LEADER:
            return
        for index in range(len(self._commits) + 1, core.commit_index + 1):
            self._commits.append((core.term, node.log_term(index)))

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
        in a later term need not be there: a stale candidate may still count old votes.)"""
        for index, (commit_term, entry_term) in enumerate(self._commits, start=1):
            self.checks += 1
            if commit_term < term and node.log_term(index) != entry_term:
                invariant = "acked_proposal_lost" if index in self.acked else "leader_completeness"
                raise InvariantViolation(
                    invariant,
                    f"node {node.id} leads term {term} without the entry of term {entry_term} "
                    f"committed at index {index} in term {commit_term} (its log has term "
                    f"{node.log_term(index)} there)",
                )
