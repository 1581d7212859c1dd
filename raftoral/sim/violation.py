"""What the checkers report: a Violation (invariant name and details) raised as InvariantViolation.

Also Proposal, a client's accepted proposal awaiting its acknowledgement.
"""

from __future__ import annotations

from dataclasses import dataclass

from raftoral.errors import RaftoralError


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
