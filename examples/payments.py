"""A payments workflow: validate an order, charge it once (a side effect through
checkpoint_compute), issue a receipt. Every node runs it: `raftoral node --app examples/payments.py`

raftoral start process_order --input '{"order_id": "o-1", "item": "tea", "qty": 2}'
"""

from __future__ import annotations

import hashlib

import msgspec

import raftoral

app = raftoral.App("payments")

PRICES = {"tea": 300, "coffee": 450, "cake": 600}  # cents


class Order(msgspec.Struct):
    order_id: str
    item: str
    qty: int


class Receipt(msgspec.Struct):
    order_id: str
    charge_id: str
    total: int
    receipt_no: str


def charge_card(order_id: str, total: int) -> str:
    """Stands in for a payment provider, idempotent by order id: a retry by a new owner
    (ctx.attempt > 1) charges nothing twice."""
    digest = hashlib.sha256(f"{order_id}:{total}".encode()).hexdigest()[:12]
    return f"ch_{digest}"


@app.workflow("process_order", version=1)
async def process_order(ctx: raftoral.WorkflowContext, order: Order) -> Receipt:
    if order.item not in PRICES or order.qty < 1:
        raise ValueError(f"cannot sell {order.qty} x {order.item!r}")
    total = await ctx.checkpoint("total", PRICES[order.item] * order.qty)
    charge_id = await ctx.checkpoint_compute(
        "charge", lambda: charge_card(order.order_id, total), type=str
    )
    issued = await ctx.now()
    receipt_no = await ctx.checkpoint("receipt", f"R-{order.order_id}-{int(issued)}")
    return Receipt(order.order_id, charge_id, total, receipt_no)
