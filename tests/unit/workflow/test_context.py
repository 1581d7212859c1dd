"""WorkflowContext against a fake executor: owner pipelining, waiters reading committed values,
replay after a failover, non-determinism errors, replicated exceptions, typed decoding."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from raftoral.errors import NonDeterminismError, WorkflowStepFailed
from raftoral.workflow.commands import Checkpoint, OwnerChange
from raftoral.workflow.context import NOW_KEY, RANDOM_KEY, WorkflowContext
from tests.unit.workflow.fake_channel import WID, FakeChannel, FakeCluster

pytestmark = pytest.mark.timeout(10)


class Receipt(msgspec.Struct):
    total: int


def context(cluster: FakeCluster, node: int, **clock: int) -> WorkflowContext:
    return WorkflowContext(WID, FakeChannel(cluster, node, **clock))


Effects = list[tuple[str, int, int]]  # (step, node, attempt)


def order(node: int, effects: Effects) -> Any:
    """A body with pipelined and computed steps; side effects are logged in `effects`."""

    async def charge(ctx: WorkflowContext, step: str) -> Receipt:
        effects.append((step, node, ctx.attempt))
        return Receipt(10)

    async def body(ctx: WorkflowContext) -> tuple[int, Receipt, Receipt, int]:
        a = await ctx.checkpoint("a", 1)
        b = await ctx.checkpoint_compute("b", lambda: charge(ctx, "b"), type=Receipt)
        c = await ctx.checkpoint("c", a + b.total)
        d = await ctx.checkpoint_compute("d", lambda: charge(ctx, "d"), type=Receipt)
        return a, b, d, c

    return body


async def test_the_owner_pipelines_checkpoints() -> None:
    cluster = FakeCluster()
    ctx = context(cluster, 1)
    assert await ctx.checkpoint("a", 1) == 1
    assert await ctx.checkpoint("b", "two") == "two"
    assert cluster.queue() == []  # returned before commit
    assert [(c.seq, c.key, c.epoch, c.attempt) for c in cluster.pending] == [
        (0, "a", 0, 1),
        (1, "b", 0, 1),
    ]
    cluster.commit()
    assert [c.key for c in cluster.queue()] == ["a", "b"]


async def test_checkpoint_compute_returns_only_once_committed() -> None:
    cluster = FakeCluster()
    task = asyncio.create_task(context(cluster, 1).checkpoint_compute("x", lambda: 5))
    await cluster.wait_until(lambda: cluster.pending)
    assert not task.done()
    cluster.commit()
    assert await task == 5


async def test_a_waiter_reads_committed_values_and_never_runs_side_effects() -> None:
    cluster = FakeCluster(auto_commit=True)
    effects: Effects = []
    waiter = asyncio.create_task(order(2, effects)(context(cluster, 2)))
    owner = await order(1, effects)(context(cluster, 1))
    assert owner == (1, Receipt(10), Receipt(10), 11)
    assert await waiter == owner
    assert effects == [("b", 1, 1), ("d", 1, 1)]


async def test_now_and_random_are_the_owners_readings() -> None:
    cluster = FakeCluster(auto_commit=True)

    async def body(ctx: WorkflowContext) -> tuple[float, float]:
        return await ctx.now(), await ctx.random()

    waiter = asyncio.create_task(body(context(cluster, 2, now_ms=5, bits=0)))
    owner = await body(context(cluster, 1, now_ms=1_234, bits=1 << 63))
    assert owner == (1.234, 0.5)
    assert await waiter == owner
    assert [c.key for c in cluster.queue()] == [NOW_KEY, RANDOM_KEY]


async def test_a_new_owner_replays_committed_steps_and_recomputes_the_rest() -> None:
    cluster = FakeCluster()
    effects: Effects = []
    old_owner = asyncio.create_task(order(1, effects)(context(cluster, 1)))
    waiter = asyncio.create_task(order(2, effects)(context(cluster, 2)))
    await cluster.wait_until(lambda: len(cluster.pending) == 2)  # a pipelined, b computed
    cluster.commit()
    await cluster.wait_until(lambda: len(cluster.pending) == 2)  # c pipelined, d computed
    old_owner.cancel()  # the owner dies with c and d uncommitted
    cluster.auto_commit = True
    cluster.apply(OwnerChange(WID, 2, 1))
    cluster.commit()  # the old owner's c and d arrive late: stale epoch, ignored
    assert await waiter == (1, Receipt(10), Receipt(10), 11)
    assert effects == [("b", 1, 1), ("d", 1, 1), ("d", 2, 2)]  # d ran again, with attempt 2
    assert [(c.key, c.attempt) for c in cluster.queue()] == [("a", 1), ("b", 1), ("c", 2), ("d", 2)]


async def test_replaying_a_fully_committed_queue_runs_nothing_and_proposes_nothing() -> None:
    cluster = FakeCluster(auto_commit=True)
    effects: Effects = []
    first = await order(1, effects)(context(cluster, 1))
    proposed = len(cluster.queue())
    assert await order(1, effects)(context(cluster, 1)) == first
    assert len(effects) == 2 and len(cluster.queue()) == proposed


async def test_a_different_key_at_a_recorded_step_is_non_determinism() -> None:
    cluster = FakeCluster()
    cluster.apply(Checkpoint(WID, 0, "charge", b"\x01", 0))
    with pytest.raises(NonDeterminismError) as raised:
        await context(cluster, 2).checkpoint("refund", 1)
    error = raised.value
    assert (error.seq, error.expected, error.actual) == (0, "charge", "refund")
    assert "'charge'" in str(error) and "'refund'" in str(error) and "new version" in str(error)


async def test_a_recorded_value_of_another_type_is_non_determinism() -> None:
    cluster = FakeCluster()
    cluster.apply(Checkpoint(WID, 0, "n", msgspec.msgpack.encode("text"), 0))
    with pytest.raises(NonDeterminismError, match="not a <class 'int'>"):
        await context(cluster, 2).checkpoint("n", 1)


async def test_a_side_effects_exception_is_replicated_and_raised_everywhere() -> None:
    cluster = FakeCluster(auto_commit=True)

    def decline() -> int:
        raise ValueError("card declined")

    def never() -> int:
        raise AssertionError("a waiter ran a side effect")

    waiter = asyncio.create_task(context(cluster, 2).checkpoint_compute("charge", never))
    for step in (context(cluster, 1).checkpoint_compute("charge", decline), waiter):
        with pytest.raises(WorkflowStepFailed) as raised:
            await step
        assert (raised.value.key, raised.value.error_type) == ("charge", "ValueError")
        assert raised.value.error_message == "card declined"
    assert cluster.queue()[0].is_error


async def test_an_unencodable_result_is_replicated_as_an_error() -> None:
    cluster = FakeCluster(auto_commit=True)
    with pytest.raises(WorkflowStepFailed) as raised:
        await context(cluster, 1).checkpoint_compute("x", object)
    assert raised.value.error_type == "raftoral.errors.UnencodableValue"


async def test_results_decode_as_the_type_given_or_annotated_else_builtins() -> None:
    cluster = FakeCluster(auto_commit=True)
    ctx = context(cluster, 1)

    async def annotated() -> Receipt:
        return Receipt(3)

    assert await ctx.checkpoint_compute("typed", lambda: Receipt(1), type=Receipt) == Receipt(1)
    assert await ctx.checkpoint_compute("annotated", annotated) == Receipt(3)
    plain: Any = await ctx.checkpoint_compute("plain", lambda: Receipt(2))  # no type: builtins
    assert plain == {"total": 2}


async def test_checkpoint_values_are_the_same_on_owner_and_waiter() -> None:
    cluster = FakeCluster(auto_commit=True)

    async def body(ctx: WorkflowContext) -> tuple[Any, ...]:
        one = await ctx.checkpoint("one", Receipt(1))
        many = await ctx.checkpoint("many", [Receipt(2)])
        typed = await ctx.checkpoint("typed", [Receipt(3)], type=list[Receipt])
        return one, many, typed

    waiter = asyncio.create_task(body(context(cluster, 2)))
    owner = await body(context(cluster, 1))
    assert owner == (Receipt(1), [{"total": 2}], [Receipt(3)])
    assert await waiter == owner
