"""The exception hierarchy of raftoral: one root, `RaftoralError`, each error with a stable code.

A leaf module (imports nothing of the package), so the pure cores may raise these too.
"""

from __future__ import annotations


class RaftoralError(Exception):
    """Root of every error raftoral raises. `code` is stable and machine-readable."""

    code = "raftoral_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class StorageError(RaftoralError):
    """The durable log or its file is unusable (corrupt, foreign, full); the message names it."""

    code = "storage_error"


class CompactedError(RaftoralError):
    """The requested log index is before the first index still kept (it is in a snapshot)."""

    code = "compacted"


class UnavailableError(RaftoralError):
    """The requested log index is after the last index stored."""

    code = "unavailable"


class ProposalDropped(RaftoralError):
    """A proposal was not appended: this node is not the leader (see `leader`, 0 if unknown)."""

    code = "proposal_dropped"

    def __init__(self, message: str, *, leader: int = 0) -> None:
        super().__init__(message)
        self.leader = leader


class ConfChangeRejected(RaftoralError):
    """A membership change was refused before it entered the log; the message says why and what
    to do (retry on `leader`, wait for the pending change to commit, fix the request)."""

    code = "conf_change_rejected"

    def __init__(self, message: str, *, leader: int = 0) -> None:
        super().__init__(message)
        self.leader = leader


class LeadershipTransferRejected(RaftoralError):
    """A leadership transfer was refused: this node is not the leader, or the target is not a
    voter of the current configuration."""

    code = "leadership_transfer_rejected"


class ReadIndexDropped(RaftoralError):
    """A ReadIndex request could not be started: no leader is known (see `leader`); retry later."""

    code = "read_index_dropped"

    def __init__(self, message: str, *, leader: int = 0) -> None:
        super().__init__(message)
        self.leader = leader


class NoNodeReachable(RaftoralError):
    """A client reached none of its addresses; check that the nodes run and `--connect` (or
    `RAFTORAL_CONNECT`) names them."""

    code = "unreachable"


class Rejected(RaftoralError):
    """A node refused the request (invalid, or not allowed in the cluster's state); retrying the
    same request will not help. `code` carries the node's own error code when it has one."""

    code = "rejected"


class Timeout(RaftoralError):
    """A request did not complete in time. For a write the outcome is unknown: it may still
    commit; read the state back before retrying."""

    code = "timeout"
