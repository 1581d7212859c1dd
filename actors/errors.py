"""The exception hierarchy of the actor runtime: one root, `ActorsError`, with a stable `code`.

A leaf module; `actors` never imports raftoral, which wraps or extends these errors itself.
"""

from __future__ import annotations


class ActorsError(Exception):
    """Root of every error the actor runtime raises. `code` is stable and machine-readable."""

    code = "actors_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class AskTimeout(ActorsError):
    """No reply arrived before the deadline; the message names the target and the message kind."""

    code = "ask_timeout"


class RemoteError(ActorsError):
    """The target answered with an error reply; `code` is the remote error's code."""

    code = "remote_error"


class UnknownKind(ActorsError):
    """A payload type or kind name is not registered; register it with `KindRegistry.register`."""

    code = "unknown_kind"


class UnknownPeer(ActorsError):
    """A send named a node that is not registered; call `bus.add_peer(node_id, "host:port")`."""

    code = "unknown_peer"


class NoSuchActor(ActorsError):
    """No actor of that name runs on the target node."""

    code = "no_such_actor"


class BusClosed(ActorsError):
    """The bus is closed or not started; start it (`await bus.start()`) before sending."""

    code = "bus_closed"


class FrameError(ActorsError):
    """An inbound frame is bad; `reason` is its `actors_bad_frames_total` label, `corr` its id."""

    code = "bad_frame"

    def __init__(self, reason: str, message: str, *, corr: int = 0) -> None:
        super().__init__(message, code=f"bad_frame_{reason}")
        self.reason = reason
        self.corr = corr
