"""The workflow app of the process tests (`--app tests/process/workflow_app.py[:old_app]`): a
side effect that appends a line to $RAFTORAL_TEST_EFFECTS each time it runs, a slow workflow, a
failing one, and a version that `app` has and `old_app` lacks (a rollout in progress)."""

from __future__ import annotations

import asyncio
import os

import msgspec

import raftoral

EFFECTS_ENV = "RAFTORAL_TEST_EFFECTS"
MAX_PAYLOAD = 1024  # bytes: a small limit, so a test can go over it on a command line


class Order(msgspec.Struct):
    order_id: str
    qty: int


class Receipt(msgspec.Struct):
    order_id: str
    charge_id: str
    total: int


def record_charge(workflow_id: str) -> str:
    """The side effect: one line per run of it, in a file every node appends to."""
    with open(os.environ[EFFECTS_ENV], "a") as effects:
        effects.write(f"{workflow_id} {os.getpid()}\n")
    return f"ch-{workflow_id}"


def build(*, with_greet_v2: bool) -> raftoral.App:
    app = raftoral.App("process-tests", max_payload_bytes=MAX_PAYLOAD)

    @app.workflow("charge", version=1)
    async def charge(ctx: raftoral.WorkflowContext, order: Order) -> Receipt:
        total = await ctx.checkpoint("total", order.qty * 300)
        workflow_id = ctx.workflow_id
        charge_id = await ctx.checkpoint_compute("charge", lambda: record_charge(workflow_id))
        return Receipt(order.order_id, charge_id, total)

    @app.workflow("slow", version=1)
    async def slow(ctx: raftoral.WorkflowContext, seconds: float) -> float:
        async def nap() -> float:
            await asyncio.sleep(seconds)  # noqa: sleep-ok the slow workflow's side effect itself
            return seconds

        return await ctx.checkpoint_compute("nap", nap)

    @app.workflow("fail", version=1)
    async def fail(ctx: raftoral.WorkflowContext, reason: str) -> None:
        raise ValueError(reason)

    @app.workflow("greet", version=1)
    async def greet(ctx: raftoral.WorkflowContext, name: str) -> str:
        return f"hello {name}"

    if with_greet_v2:

        @app.workflow("greet", version=2)
        async def greet_v2(ctx: raftoral.WorkflowContext, name: str) -> str:
            return f"hello {name}, again"

    return app


app = build(with_greet_v2=True)
old_app = build(with_greet_v2=False)
