"""The demo's workflow app, in the package so `raftoral node --app raftoral.demo.app` works from
any directory: process_order (validate, charge once, receipt) and order_loop (many checkpoints)."""

from __future__ import annotations

import hashlib
import os

import msgspec

import raftoral

app = raftoral.App("demo")

PRICES = {"tea": 300, "coffee": 450, "cake": 600, "scone": 250}  # cents
LEDGER_ENV = "RAFTORAL_DEMO_LEDGER"  # a file each real charge appends its charge id to


class Order(msgspec.Struct):
    order_id: str
    item: str
    qty: int


class Receipt(msgspec.Struct):
    order_id: str
    charge_id: str
    total: int
    receipt_no: str


class Basket(msgspec.Struct):
    basket_id: str
    lines: int = 1000


def charge_card(order_id: str, total: int) -> str:
    """Stands in for a payment provider: returns a charge id and, when RAFTORAL_DEMO_LEDGER names
    a file, appends it there, so the demo can count the charges that really happened."""
    charge_id = "ch_" + hashlib.sha256(f"{order_id}:{total}".encode()).hexdigest()[:12]
    ledger = os.environ.get(LEDGER_ENV)
    if ledger:
        fd = os.open(ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{charge_id}\n".encode())  # one write of a short line: never interleaved
        finally:
            os.close(fd)
    return charge_id


@app.workflow("process_order", version=1)
async def process_order(ctx: raftoral.WorkflowContext, order: Order) -> Receipt:
    """Validate the order, charge it exactly once (only the owner runs the charge; every other
    node reads the committed charge id) and issue a receipt stamped with the committed time."""
    if order.item not in PRICES or order.qty < 1:
        raise ValueError(f"cannot sell {order.qty} x {order.item!r}")
    total = await ctx.checkpoint("total", PRICES[order.item] * order.qty)
    charge_id = await ctx.checkpoint_compute(
        "charge", lambda: charge_card(order.order_id, total), type=str
    )
    issued = await ctx.now()
    receipt_no = await ctx.checkpoint("receipt", f"R-{order.order_id}-{int(issued)}")
    return Receipt(order.order_id, charge_id, total, receipt_no)


def line_price(i: int) -> int:
    """The price in cents of line `i` of a basket (deterministic, so every run sums the same)."""
    return 100 + (i * 37) % 900


@app.workflow("order_loop", version=1)
async def order_loop(ctx: raftoral.WorkflowContext, basket: Basket) -> int:
    """Sum a basket's lines one checkpoint per line, so a new owner resumes mid-loop from the
    last committed subtotal; returns the total in cents."""
    total = 0
    for i in range(basket.lines):
        total = await ctx.checkpoint(f"line-{i}", total + line_price(i))
    return total
