"""A small actor runtime over ZeroMQ: actors, bounded mailboxes, a per-process bus, supervision.

Knows nothing of Raft or workflows; see docs/actors.md for a guide and the frame format.
"""

from actors.actor import Actor, handler
from actors.address import Address
from actors.bus import Bus
from actors.clock import AsyncioClock, Clock, ManualClock
from actors.codec import KINDS, VERSION, Codec, KindRegistry
from actors.context import Context
from actors.envelope import ERROR_KIND, Envelope, ErrorReply
from actors.errors import (
    ActorsError,
    AskTimeout,
    BusClosed,
    FrameError,
    NoSuchActor,
    RemoteError,
    UnknownKind,
    UnknownPeer,
)
from actors.faults import Fault
from actors.loop import run, uvloop_available
from actors.mailbox import Mailbox
from actors.metrics import ActorMetrics, metrics_for
from actors.supervision import RestartPolicy
from actors.transport import TransportOptions

__all__ = [
    "ERROR_KIND",
    "KINDS",
    "VERSION",
    "Actor",
    "ActorMetrics",
    "ActorsError",
    "Address",
    "AskTimeout",
    "AsyncioClock",
    "Bus",
    "BusClosed",
    "Clock",
    "Codec",
    "Context",
    "Envelope",
    "ErrorReply",
    "Fault",
    "FrameError",
    "KindRegistry",
    "Mailbox",
    "ManualClock",
    "NoSuchActor",
    "RemoteError",
    "RestartPolicy",
    "TransportOptions",
    "UnknownKind",
    "UnknownPeer",
    "handler",
    "metrics_for",
    "run",
    "uvloop_available",
]
