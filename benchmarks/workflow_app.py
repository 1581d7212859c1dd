"""The workflows bench_workflows.py runs on raftoral nodes (`raftoral node --app` this file):
`three_steps` (3 checkpoint_compute steps); `loop` and `loop_compute`: N checkpoints in a loop."""

from __future__ import annotations

from functools import partial

import raftoral

app = raftoral.App("bench")


def step(value: int) -> int:
    """The side effect of one step: trivial, so the figures are the engine's costs."""
    return value + 1


@app.workflow("three_steps", version=1)
async def three_steps(ctx: raftoral.WorkflowContext, value: int) -> int:
    value = await ctx.checkpoint_compute("a", lambda: step(value), type=int)
    value = await ctx.checkpoint_compute("b", lambda: step(value), type=int)
    return await ctx.checkpoint_compute("c", lambda: step(value), type=int)


@app.workflow("loop", version=1)
async def loop(ctx: raftoral.WorkflowContext, steps: int) -> int:
    total = 0
    for i in range(steps):
        total = await ctx.checkpoint("i", total + i)
    return total


@app.workflow("loop_compute", version=1)
async def loop_compute(ctx: raftoral.WorkflowContext, steps: int) -> int:
    total = 0
    for _ in range(steps):
        total = await ctx.checkpoint_compute("i", partial(step, total), type=int)
    return total
