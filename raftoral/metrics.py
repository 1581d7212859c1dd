"""Raftoral's Prometheus metrics (the raftoral_raft_* and raftoral_snapshot_* families of
DESIGN.md §3), one set per registry, and the /metrics HTTP endpoint of `--metrics-port`."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import start_http_server

from raftoral.raft.snapshot_transfer import SnapshotStats
from raftoral.raft.types import Role, SnapshotChunk

COMMIT_BUCKETS = (1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)
TRANSFER_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
DIRECTIONS = ("sent", "received")


class RaftMetrics:
    """The metric families, registered once on one registry; `group(cluster)` binds labels."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(name, doc, ["cluster", *labels], registry=registry)

        def gauge(name: str, doc: str) -> Gauge:
            return Gauge(name, doc, ["cluster"], registry=registry)

        self.proposals = counter("raftoral_raft_proposals_total", "Entries proposed here.")
        self.commits = counter("raftoral_raft_commits_total", "Entries committed and applied.")
        self.commit_latency = Histogram(
            "raftoral_raft_commit_latency_seconds",
            "From proposal to applied, on the proposing leader (one sample per applied batch:"
            " its oldest acknowledged proposal).",
            ["cluster"],
            buckets=COMMIT_BUCKETS,
            registry=registry,
        )
        self.leader_changes = counter("raftoral_raft_leader_changes_total", "Leaders seen.")
        self.elections = counter("raftoral_raft_elections_total", "Elections started here.")
        self.term = gauge("raftoral_raft_term", "Current term.")
        self.is_leader = gauge("raftoral_raft_is_leader", "1 on the leader, else 0.")
        self.commit_index = gauge("raftoral_raft_commit_index", "Commit index.")
        self.applied_index = gauge("raftoral_raft_applied_index", "Applied index.")
        self.step_errors = counter(
            "raftoral_raft_step_errors_total", "Raft messages refused by the core (dropped)."
        )
        self.snapshot_transfers = counter(
            "raftoral_snapshot_transfers_total", "Snapshot transfers completed.", "direction"
        )
        self.snapshot_bytes = counter(
            "raftoral_snapshot_bytes_total", "Snapshot bytes transferred.", "direction"
        )
        self.snapshot_transfer_seconds = Histogram(
            "raftoral_snapshot_transfer_seconds",
            "From a snapshot transfer's first chunk to its install, on the receiving node.",
            ["cluster"],
            buckets=TRANSFER_BUCKETS,
            registry=registry,
        )

    def group(self, cluster: int) -> GroupMetrics:
        label = str(cluster)
        for direction in DIRECTIONS:
            self.snapshot_transfers.labels(label, direction)
            self.snapshot_bytes.labels(label, direction)
        return GroupMetrics(self, label)


_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, RaftMetrics] = (
    weakref.WeakKeyDictionary()
)


def raft_metrics_for(registry: CollectorRegistry | None = None) -> RaftMetrics:
    """The metrics of `registry` (default: the global one), created on first use."""
    registry = registry or REGISTRY
    metrics = _BY_REGISTRY.get(registry)
    if metrics is None:
        metrics = _BY_REGISTRY[registry] = RaftMetrics(registry)
    return metrics


@dataclass
class GroupMetrics:
    """The series of one cluster, and the last snapshot stats (exported as deltas)."""

    families: RaftMetrics
    cluster: str
    last_snapshots: SnapshotStats | None = None
    transfer_started: float | None = None

    def __post_init__(self) -> None:
        f, c = self.families, self.cluster
        self.proposals = f.proposals.labels(c)
        self.commits = f.commits.labels(c)
        self.commit_latency = f.commit_latency.labels(c)
        self.leader_changes = f.leader_changes.labels(c)
        self.elections = f.elections.labels(c)
        self.step_errors = f.step_errors.labels(c)
        self.transfer_seconds = f.snapshot_transfer_seconds.labels(c)

    def applied(self, count: int, latency: float | None) -> None:
        """A batch of `count` entries applied; `latency` of its oldest acknowledged proposal."""
        self.commits.inc(count)
        if latency is not None:
            self.commit_latency.observe(latency)

    def transfer_staging(self, chunks: Sequence[SnapshotChunk]) -> None:
        """Chunks received: a chunk at offset 0 starts (or restarts) a transfer."""
        if any(chunk.offset == 0 for chunk in chunks):
            self.transfer_started = time.perf_counter()

    def transfer_installed(self) -> None:
        """The received snapshot was installed: the transfer took since its first chunk."""
        if self.transfer_started is not None:
            self.transfer_seconds.observe(time.perf_counter() - self.transfer_started)
            self.transfer_started = None

    def indexes(self, term: int, role: Role, commit: int, applied: int) -> None:
        f, c = self.families, self.cluster
        f.term.labels(c).set(term)
        f.is_leader.labels(c).set(1 if role == Role.LEADER else 0)
        f.commit_index.labels(c).set(commit)
        f.applied_index.labels(c).set(applied)

    def snapshots(self, stats: SnapshotStats) -> None:
        last = self.last_snapshots or SnapshotStats()
        if stats == last:
            return
        f, c = self.families, self.cluster
        f.snapshot_transfers.labels(c, "sent").inc(max(0, stats.sent - last.sent))
        f.snapshot_transfers.labels(c, "received").inc(max(0, stats.received - last.received))
        f.snapshot_bytes.labels(c, "sent").inc(max(0, stats.sent_bytes - last.sent_bytes))
        f.snapshot_bytes.labels(c, "received").inc(
            max(0, stats.received_bytes - last.received_bytes)
        )
        self.last_snapshots = stats


def serve_metrics(
    port: int, host: str = "0.0.0.0", registry: CollectorRegistry | None = None
) -> Callable[[], None]:
    """Start the /metrics endpoint on a daemon thread; returns the function that stops it."""
    server, thread = start_http_server(port, addr=host, registry=registry or REGISTRY)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
