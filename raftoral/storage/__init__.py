"""Durable Raft state (log, hard state, snapshot): SQLite on disk and an in-memory twin.

Both implement raftoral.raft.storage.LogStorage and add bootstrap() and compact().
"""

from raftoral.storage.memory import MemoryStorage
from raftoral.storage.sqlite import SqliteStorage

__all__ = ["MemoryStorage", "SqliteStorage"]
