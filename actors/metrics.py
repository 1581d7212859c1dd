"""Prometheus metrics of the actor runtime, named as DESIGN.md §3 fixes them.

One `ActorMetrics` per CollectorRegistry (default: the global REGISTRY), so tests can isolate them.
"""

from __future__ import annotations

import weakref
from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

BAD_FRAME_REASONS = ("malformed", "unknown_version", "unknown_kind", "decode", "oversize")
HANDLER_BUCKETS = (1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0)


class ActorMetrics:
    """The runtime's metric families, registered once on one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.handlers = HandlerStatsCollector()
        registry.register(self.handlers)
        self.mailbox_depth = Gauge(
            "actors_mailbox_depth", "Messages waiting in the mailbox.", ["actor"], registry=registry
        )
        self.restarts = Counter(
            "actors_restarts_total", "Actor restarts after a failure.", ["actor"], registry=registry
        )
        self.bad_frames = Counter(
            "actors_bad_frames_total",
            "Inbound frames dropped, by reason.",
            ["reason"],
            registry=registry,
        )
        self.dropped_sends = Counter(
            "actors_dropped_sends_total",
            "Outbound messages dropped at the high-water mark or for an unreachable peer.",
            ["peer"],
            registry=registry,
        )
        self.mailbox_dropped = Counter(
            "actors_mailbox_dropped_total",
            "Inbound messages dropped because the mailbox was full.",
            ["actor"],
            registry=registry,
        )
        self.disconnects = Counter(
            "actors_disconnects_total",
            "Connections the ROUTER lost (peers gone, or cut off by ZMQ_MAXMSGSIZE).",
            registry=registry,
        )
        for reason in BAD_FRAME_REASONS:
            self.bad_frames.labels(reason)


class HandlerStats:
    """One actor's handler timings as plain numbers: the hot path takes no lock (the GIL makes
    each update atomic); the count is derived from the buckets, so a scrape stays consistent."""

    __slots__ = ("buckets", "sum")

    def __init__(self) -> None:
        self.buckets = [0] * (len(HANDLER_BUCKETS) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.buckets[bisect_left(HANDLER_BUCKETS, seconds)] += 1
        self.sum += seconds


class HandlerStatsCollector(Collector):
    """Exports `actors_messages_total{actor}` and `actors_handler_seconds{actor}` at scrape time
    from each actor name's `HandlerStats` (kept across restarts and respawns)."""

    def __init__(self) -> None:
        self._stats: dict[str, HandlerStats] = {}

    def stats(self, actor: str) -> HandlerStats:
        return self._stats.setdefault(actor, HandlerStats())

    def collect(self) -> Iterator[Metric]:
        messages = CounterMetricFamily(
            "actors_messages", "Messages handled, by actor.", labels=["actor"]
        )
        seconds = HistogramMetricFamily(
            "actors_handler_seconds", "Time spent in message handlers.", labels=["actor"]
        )
        bounds = [str(bound) for bound in HANDLER_BUCKETS] + ["+Inf"]
        for actor, stats in list(self._stats.items()):
            cumulative = list(accumulate(stats.buckets))
            messages.add_metric([actor], cumulative[-1])
            seconds.add_metric([actor], list(zip(bounds, cumulative, strict=True)), stats.sum)
        yield messages
        yield seconds


_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, ActorMetrics] = (
    weakref.WeakKeyDictionary()
)


def metrics_for(registry: CollectorRegistry | None = None) -> ActorMetrics:
    """The metrics registered on `registry` (the global REGISTRY by default), created once."""
    registry = REGISTRY if registry is None else registry
    metrics = _BY_REGISTRY.get(registry)
    if metrics is None:
        metrics = _BY_REGISTRY[registry] = ActorMetrics(registry)
    return metrics
