"""Membership as the checker sees it: the committed configuration (from the first application of
each CONF_CHANGE entry) and, per node, where its stored log holds CONF_CHANGE entries."""

from __future__ import annotations

from collections.abc import Sequence

from raftoral.raft.confchange import decode_conf_entry
from raftoral.raft.types import ConfState, Entry, EntryKind
from raftoral.storage.memory import MemoryStorage


def _conf_indexes(entries: Sequence[Entry]) -> list[int]:
    return [entry.index for entry in entries if entry.kind == EntryKind.CONF_CHANGE]


class ConfWatch:
    """`committed` is the configuration of the latest committed change (or the bootstrap one);
    `members_ever` every node id that was ever a member of a committed configuration."""

    def __init__(self, conf: ConfState) -> None:
        self.committed = conf
        self._committed_at = 0
        self.members_ever = set(conf.voters + conf.learners)
        self._logs: dict[int, list[int]] = {}  # node -> CONF_CHANGE indexes in its stored log

    def members(self) -> set[int]:
        return set(self.committed.voters + self.committed.learners)

    def rescan(self, node_id: int, storage: MemoryStorage) -> None:
        """The node's stored log was replaced (restart, snapshot install): read it again."""
        first, last = storage.first_index(), storage.last_index()
        self._logs[node_id] = _conf_indexes(storage.entries(first, last + 1))

    def written(self, node_id: int, entries: Sequence[Entry]) -> None:
        """`entries` overwrite the node's stored log from entries[0].index on."""
        indexes = self._logs.setdefault(node_id, [])
        first = entries[0].index
        while indexes and indexes[-1] >= first:
            indexes.pop()
        indexes.extend(_conf_indexes(entries))

    def committed_entry(self, entry: Entry) -> None:
        """`entry` was applied for the first time anywhere (so it is committed)."""
        if entry.kind == EntryKind.CONF_CHANGE and entry.index > self._committed_at:
            self._committed_at = entry.index
            self.committed = decode_conf_entry(entry).conf
            self.members_ever |= self.members()

    def pending(self, node_id: int, commit: int) -> list[int]:
        """The CONF_CHANGE entries in the node's stored log after index `commit`."""
        indexes = self._logs.get(node_id, [])
        tail = []
        for index in reversed(indexes):
            if index <= commit:
                break
            tail.append(index)
        return tail
