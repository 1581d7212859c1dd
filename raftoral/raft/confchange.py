"""Single-server membership changes: validating a ConfChange, its log encoding, and ConfTracker,
the configuration in force at every index of the log (a config takes effect when appended)."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from raftoral.errors import CompactedError, ConfChangeRejected
from raftoral.raft.types import ConfChange, ConfChangeType, ConfState, Entry, EntryKind


class ConfEntry(msgspec.Struct, frozen=True, array_like=True):
    """The data of a CONF_CHANGE entry: the change and the whole configuration it results in.

    Carrying the result lets a node that joined with an empty storage learn the membership from
    the log alone (it never saw the bootstrap configuration the change was applied to)."""

    change: ConfChange
    conf: ConfState


def encode_conf_entry(change: ConfChange, conf: ConfState) -> bytes:
    return msgspec.msgpack.encode(ConfEntry(change, conf))


def decode_conf_entry(entry: Entry) -> ConfEntry:
    """Decode a CONF_CHANGE entry (for the core and for drivers applying committed entries)."""
    return msgspec.msgpack.decode(entry.data, type=ConfEntry)


def apply_change(conf: ConfState, cc: ConfChange) -> ConfState:
    """The configuration after `cc`; raises ConfChangeRejected if `cc` is not a valid single-
    server change of `conf`."""
    node, voters, learners = cc.node_id, set(conf.voters), set(conf.learners)
    if node <= 0:
        raise ConfChangeRejected(f"node id must be > 0, got {node}")
    if cc.type == ConfChangeType.ADD_VOTER:
        if node in voters:
            raise ConfChangeRejected(f"node {node} is already a voter")
        learners.discard(node)
        voters.add(node)
    elif cc.type == ConfChangeType.ADD_LEARNER:
        if node in voters:
            raise ConfChangeRejected(f"node {node} is a voter; remove it before adding a learner")
        if node in learners:
            raise ConfChangeRejected(f"node {node} is already a learner")
        learners.add(node)
    else:
        if node not in voters and node not in learners:
            raise ConfChangeRejected(f"node {node} is not a member; nothing to remove")
        if voters == {node}:
            raise ConfChangeRejected(f"node {node} is the last voter; add another voter first")
        voters.discard(node)
        learners.discard(node)
    return ConfState(voters=tuple(sorted(voters)), learners=tuple(sorted(learners)))


class ConfTracker:
    """The configuration of the snapshot (`base`) plus one per CONF_CHANGE entry in the log.

    The latest one is in force (committed or not); truncating the log reverts to the previous.
    """

    __slots__ = ("_base_conf", "_base_index", "_changes")

    def __init__(self, base_index: int, base_conf: ConfState) -> None:
        self._base_index = base_index
        self._base_conf = base_conf
        self._changes: list[tuple[int, ConfState]] = []

    @property
    def conf(self) -> ConfState:
        return self._changes[-1][1] if self._changes else self._base_conf

    def last_change_index(self) -> int:
        """Index of the latest CONF_CHANGE entry in the log (0 if none after the snapshot)."""
        return self._changes[-1][0] if self._changes else 0

    def conf_at(self, index: int) -> ConfState:
        """The configuration in force once the log is applied through `index`."""
        if index < self._base_index:
            raise CompactedError(f"index {index} is before the snapshot at {self._base_index}")
        conf = self._base_conf
        for at, changed in self._changes:
            if at > index:
                break
            conf = changed
        return conf

    def reset(self, base_index: int, base_conf: ConfState) -> None:
        """The log was replaced by a snapshot."""
        self._base_index, self._base_conf = base_index, base_conf
        self._changes.clear()

    def on_append(self, first_index: int, entries: Iterable[Entry]) -> None:
        """The log from `first_index` on was (re)written with `entries`."""
        while self._changes and self._changes[-1][0] >= first_index:
            self._changes.pop()
        for entry in entries:
            if entry.kind == EntryKind.CONF_CHANGE:
                self._changes.append((entry.index, decode_conf_entry(entry).conf))
