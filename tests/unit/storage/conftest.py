"""Fixtures of the storage tests: a LogStorage of each implementation (the contract runs twice).

`storage` is a MemoryStorage, then a SqliteStorage in a fresh file under tmp_path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from raftoral.storage import MemoryStorage, SqliteStorage
from tests.unit.storage.helpers import Storage


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    store: Storage
    store = MemoryStorage() if request.param == "memory" else SqliteStorage(tmp_path / "raft.db")
    yield store
    store.close()
