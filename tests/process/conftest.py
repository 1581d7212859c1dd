"""Fixture of the process tests: a ProcessCluster whose processes and client bus are cleaned up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.conftest import Reaper
from tests.process.cluster import ProcessCluster

MakeCluster = Callable[..., ProcessCluster]


@pytest.fixture
async def make_cluster(reaper: Reaper, tmp_path: Path) -> AsyncIterator[MakeCluster]:
    clusters: list[ProcessCluster] = []

    def make(slots: int, extra: tuple[str, ...] = ()) -> ProcessCluster:
        cluster = ProcessCluster(reaper, tmp_path, slots, extra)
        clusters.append(cluster)
        return cluster

    yield make
    for cluster in clusters:
        await cluster.close()
