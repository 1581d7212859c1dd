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


# -- workflows -------------------------------------------------------------------------------


class WorkflowRegistrationError(RaftoralError):
    """A function cannot be registered as a workflow (not `async def`, a bad signature, or a name
    and version registered twice); `code` says which, the message says how to fix it."""

    code = "invalid_workflow"


class UnknownWorkflow(Rejected):
    """No workflow of this name is registered on the node asked; register it with
    `@app.workflow(name, version=N)` on every node, or fix the name."""

    code = "unknown_workflow"


class UnknownVersion(Rejected):
    """The workflow exists, but not in the version asked for; `known` lists the versions this node
    has registered."""

    code = "unknown_version"

    def __init__(self, message: str, *, known: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.known = known


class VersionMissingOnMember(Rejected):
    """A workflow version is registered on the entry node but not on every member of the cluster
    (a rollout in progress); `members` are the nodes that lack it. Deploy it everywhere first,
    or start a version every member has."""

    code = "version_missing_on_member"

    def __init__(self, message: str, *, members: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.members = members


class InvalidInput(Rejected):
    """A workflow's input does not match its annotation; `path` is msgspec's path to the bad value
    (`$` for the whole input, `$.order.qty` for a field)."""

    code = "invalid_input"

    def __init__(self, message: str, *, path: str = "$") -> None:
        super().__init__(message)
        self.path = path


class PayloadTooLarge(Rejected):
    """An encoded payload is over the configured limit (`size` and `limit` in bytes); pass a
    reference (a key, a URL) instead of the data, or raise the limit on every node."""

    code = "payload_too_large"

    def __init__(self, message: str, *, size: int = 0, limit: int = 0) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit


class WorkflowConflict(Rejected):
    """A workflow id is already used by a run with another name or input; an id is an idempotency
    key, so pick a new id for a different request."""

    code = "workflow_conflict"


class NonDeterminismError(RaftoralError):
    """A workflow body asked for a different checkpoint than the one recorded at that step: the
    code is not deterministic, or it changed under running workflows (register a new version)."""

    code = "non_determinism"

    def __init__(self, message: str, *, seq: int = 0, expected: str = "", actual: str = "") -> None:
        super().__init__(message)
        self.seq = seq
        self.expected = expected
        self.actual = actual


class WorkflowStepFailed(RaftoralError):
    """A `checkpoint_compute` side effect raised; the exception was replicated, and every node
    raises this with its type name (`error_type`) and message (`error_message`)."""

    code = "step_failed"

    def __init__(
        self, message: str, *, key: str = "", error_type: str = "", error_message: str = ""
    ) -> None:
        super().__init__(message)
        self.key = key
        self.error_type = error_type
        self.error_message = error_message


class UnencodableValue(RaftoralError):
    """A checkpoint value or workflow result cannot be encoded with msgspec; use Structs,
    dataclasses, dicts, lists and primitives."""

    code = "unencodable_value"


class NoSuchRun(Rejected):
    """No run with this workflow id is known to the node asked (never started, or forgotten by
    the retention of finished runs)."""

    code = "no_such_workflow"


class WorkflowFailed(RaftoralError):
    """A workflow ended with an exception: `error_type` and `error_message` are the remote
    exception's type name and message."""

    code = "workflow_failed"

    def __init__(self, message: str, *, error_type: str = "", error_message: str = "") -> None:
        super().__init__(message)
        self.error_type = error_type
        self.error_message = error_message
