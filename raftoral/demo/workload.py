"""The demo's workload on the replicated key-value store: order-like records written with many in
flight through the Client, then read back with linearizable reads on every node and compared."""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from raftoral.client import Client
from raftoral.errors import Timeout

INFLIGHT = 64  # requests outstanding at once
WRITE_PATIENCE = 30.0  # seconds one write may keep being retried (through a failover) at most
PRODUCTS = ("keyboard", "monitor", "dock", "headset", "webcam", "cable", "lamp", "chair")

OnAck = Callable[[int], None]  # called with the number of writes acknowledged so far


def make_orders(count: int) -> dict[str, bytes]:
    """`count` order-like JSON records by key; a run token makes this run's values unique, so a
    cluster restarted from an earlier run's data cannot pass the check with old values."""
    run = secrets.token_hex(4)
    return {f"order/{i:05d}": _order(run, i) for i in range(1, count + 1)}


def _order(run: str, i: int) -> bytes:
    lines = [
        (PRODUCTS[(i + k) % len(PRODUCTS)], 1 + (i * (k + 3)) % 4, 499 + (i * 37 + k * 101) % 9500)
        for k in range(1 + i % 3)
    ]
    order = {
        "order_id": f"ord-{run}-{i:05d}",
        "customer": f"customer-{i % 97:02d}",
        "items": [{"sku": sku, "qty": qty, "cents": cents} for sku, qty, cents in lines],
        "total_cents": sum(qty * cents for _, qty, cents in lines),
        "status": "placed",
    }
    return json.dumps(order, separators=(",", ":")).encode()


@dataclass
class WriteStats:
    acknowledged: int = 0
    retried: int = 0  # writes resent after their outcome was unknown (a put is idempotent)
    seconds: float = 0.0
    ack_times: list[float] = field(default_factory=list)  # monotonic time of each acknowledgement

    def longest_pause(self, since: float) -> float:
        """The longest time without an acknowledgement from `since` on (a failover's stall)."""
        times = [since, *(t for t in self.ack_times if t > since)]
        return max((later - earlier for earlier, later in itertools.pairwise(times)), default=0.0)


async def write_all(client: Client, orders: dict[str, bytes], on_ack: OnAck) -> WriteStats:
    """Put every order, INFLIGHT at a time, calling `on_ack` after each acknowledgement."""
    stats = WriteStats()
    keys = iter(orders)
    start = time.monotonic()

    async def worker() -> None:
        for key in keys:
            await _put(client, key, orders[key], stats)
            stats.acknowledged += 1
            stats.ack_times.append(time.monotonic())
            on_ack(stats.acknowledged)

    await asyncio.gather(*(worker() for _ in range(INFLIGHT)))
    stats.seconds = time.monotonic() - start
    return stats


async def _put(client: Client, key: str, value: bytes, stats: WriteStats) -> None:
    """A put whose outcome is unknown (its node died mid-request) is sent again: putting the same
    value under the same key twice leaves the same state, so the retry is safe."""
    give_up = time.monotonic() + WRITE_PATIENCE
    while True:
        try:
            await client.kv_put(key, value)
            return
        except Timeout:
            if time.monotonic() > give_up:
                raise
            stats.retried += 1


async def verify_on(
    address: str, orders: dict[str, bytes], on_read: Callable[[], None]
) -> list[str]:
    """Read every order back from the node at `address` alone (linearizable reads, served by that
    node's own replica); returns the keys whose value differs or is missing."""
    wrong: list[str] = []
    keys: Iterator[str] = iter(orders)
    async with Client([address], timeout=10.0) as client:

        async def worker() -> None:
            for key in keys:
                if await client.kv_get(key) != orders[key]:
                    wrong.append(key)
                on_read()

        await asyncio.gather(*(worker() for _ in range(INFLIGHT)))
    return wrong

