"""The demo's workload: process_order workflows started through the Client with many in flight,
one order_loop of many checkpoints, then every run described on every node and compared."""

from __future__ import annotations

import asyncio
import collections
import itertools
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raftoral.client import Client
from raftoral.demo.app import PRICES

INFLIGHT = 32  # workflows running at once
RESULT_TIMEOUT = 60.0  # seconds one workflow may take at most (through a failover)
LOOP_POLL = 0.1  # seconds between two looks at the order_loop's checkpoints
ITEMS = tuple(PRICES)

OnDone = Callable[[int], None]  # called with the number of workflows completed so far


def run_token() -> str:
    """Makes this run's workflow ids unique, so a cluster restarted from an earlier run's data
    cannot pass the checks with old runs."""
    return secrets.token_hex(4)


def make_orders(count: int, run: str) -> dict[str, dict[str, Any]]:
    """`count` process_order inputs by workflow id."""
    return {f"order-{run}-{i:04d}": _order(f"o-{run}-{i:04d}", i) for i in range(1, count + 1)}


def _order(order_id: str, i: int) -> dict[str, Any]:
    return {"order_id": order_id, "item": ITEMS[i % len(ITEMS)], "qty": 1 + i % 3}


@dataclass
class OrderStats:
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)  # by workflow id
    seconds: float = 0.0
    done_times: list[float] = field(default_factory=list)  # monotonic time of each completion

    def longest_pause(self, since: float) -> float:
        """The longest time without a completion from `since` on (a failover's stall)."""
        times = [since, *(t for t in self.done_times if t > since)]
        return max((later - earlier for earlier, later in itertools.pairwise(times)), default=0.0)


async def run_orders(
    client: Client, orders: dict[str, dict[str, Any]], on_done: OnDone
) -> OrderStats:
    """Run every order, INFLIGHT at a time (each id is an idempotency key, so a start whose node
    stopped answering is safely resent), calling `on_done` after each completion."""
    stats = OrderStats()
    ids = iter(orders)
    start = time.monotonic()

    async def worker() -> None:
        for workflow_id in ids:
            handle = await client.start_workflow("process_order", orders[workflow_id],
                                                 workflow_id=workflow_id)  # fmt: skip
            stats.receipts[workflow_id] = await handle.result(timeout=RESULT_TIMEOUT)
            stats.done_times.append(time.monotonic())
            on_done(len(stats.receipts))

    await asyncio.gather(*(worker() for _ in range(INFLIGHT)))
    stats.seconds = time.monotonic() - start
    return stats


@dataclass
class LoopStats:
    workflow_id: str
    total: int
    checkpoints: int
    seconds: float


async def run_loop(client: Client, workflow_id: str, lines: int, on_progress: OnDone) -> LoopStats:
    """Run one order_loop of `lines` checkpoints, reporting its committed checkpoints as it goes."""
    start = time.monotonic()
    basket = {"basket_id": workflow_id, "lines": lines}
    handle = await client.start_workflow("order_loop", basket, workflow_id=workflow_id)
    result = asyncio.ensure_future(handle.result(timeout=RESULT_TIMEOUT))
    try:
        while not result.done():
            on_progress((await client.describe(workflow_id)).checkpoints)
            await asyncio.wait([result], timeout=LOOP_POLL)
        total = result.result()
    finally:
        result.cancel()
    summary = await client.describe(workflow_id)
    on_progress(summary.checkpoints)
    return LoopStats(workflow_id, total, summary.checkpoints, time.monotonic() - start)


async def described_on(
    address: str, ids: Iterable[str], on_read: Callable[[], None]
) -> list[tuple[str, bytes | None]]:
    """(id, result as MessagePack or None unless completed) of every run, as the node at
    `address` alone describes it."""
    pending = iter(ids)
    seen: list[tuple[str, bytes | None]] = []
    async with Client([address], timeout=10.0) as client:

        async def worker() -> None:
            for workflow_id in pending:
                summary = await client.describe(workflow_id)
                completed = summary.status == "completed"
                seen.append((workflow_id, summary.result if completed else None))
                on_read()

        await asyncio.gather(*(worker() for _ in range(INFLIGHT)))
    return seen


def count_charges(ledger: Path, charge_ids: Iterable[str]) -> collections.Counter[str]:
    """How many times each of `charge_ids` was really charged (lines in the ledger)."""
    wanted = set(charge_ids)
    lines = ledger.read_text().split() if ledger.exists() else []
    counts = collections.Counter(line for line in lines if line in wanted)
    return collections.Counter({charge: counts[charge] for charge in wanted})
