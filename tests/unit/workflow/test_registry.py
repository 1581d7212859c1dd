"""The App and its registry: versions side by side, the newest by default, types from the
annotations, input validation with msgspec's path, payload limits, registration errors."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from raftoral.errors import (
    InvalidInput,
    PayloadTooLarge,
    Rejected,
    UnknownVersion,
    UnknownWorkflow,
    WorkflowRegistrationError,
)
from raftoral.workflow import App, WorkflowContext


class Order(msgspec.Struct):
    item: str
    qty: int


class Receipt(msgspec.Struct):
    total: int


def shop() -> App:
    app = App("shop", max_payload_bytes=64)

    @app.workflow("order", version=1)
    async def order_v1(ctx: WorkflowContext, order: Order) -> Receipt:
        return Receipt(order.qty)

    @app.workflow("order", version=2)
    async def order_v2(ctx: WorkflowContext, orders: list[Order]) -> int:
        return len(orders)

    return app


def test_versions_live_side_by_side_and_none_means_the_newest() -> None:
    app = shop()
    assert app.lookup("order").version == 2
    v1 = app.lookup("order", 1)
    assert (v1.input_type, v1.output_type) == (Order, Receipt)
    assert app.registry.versions("order") == (1, 2)
    assert app.registry.names() == ["order"]


def test_the_decorator_returns_the_function_unchanged() -> None:
    app = App("a")

    async def body(ctx: WorkflowContext, x: int) -> int:
        return x

    assert app.workflow("w")(body) is body
    assert app.lookup("w").fn is body


def test_unknown_workflow_and_version_are_rejections_that_say_what_exists() -> None:
    app = shop()
    with pytest.raises(UnknownWorkflow, match="registered: order"):
        app.lookup("refund")
    with pytest.raises(UnknownVersion, match="versions: 1, 2") as raised:
        app.lookup("order", 3)
    assert raised.value.known == (1, 2)
    assert isinstance(raised.value, Rejected) and raised.value.code == "unknown_version"


def test_prepare_input_validates_against_the_annotation() -> None:
    definition, data = shop().prepare_input("order", {"item": "tea", "qty": 2}, version=1)
    assert definition.decode_input(data) == Order("tea", 2)


@pytest.mark.parametrize(
    ("value", "path"),
    [({"item": "tea", "qty": "two"}, "$.qty"), ({"item": "tea"}, "$"), ([1], "$")],
)
def test_invalid_input_carries_msgspec_path(value: Any, path: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        shop().prepare_input("order", value, version=1)
    assert raised.value.path == path
    assert raised.value.code == "invalid_input" and "'order' v1" in str(raised.value)


def test_invalid_input_path_inside_a_list() -> None:
    with pytest.raises(InvalidInput) as raised:
        shop().prepare_input("order", [{"item": "a", "qty": 1}, {"item": "b", "qty": None}])
    assert raised.value.path == "$[1].qty"


def test_an_unencodable_input_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="cannot be encoded"):
        shop().prepare_input("order", object(), version=1)


def test_equal_inputs_travel_as_equal_bytes() -> None:
    app = shop()
    _, a = app.prepare_input("order", {"item": "tea", "qty": 2}, version=1)
    _, b = app.prepare_input("order", {"qty": 2, "item": "tea"}, version=1)
    _, c = app.prepare_input("order", Order("tea", 2), version=1)
    assert a == b == c


def test_payloads_over_the_limit_are_rejected() -> None:
    app = shop()
    with pytest.raises(PayloadTooLarge) as raised:
        app.prepare_input("order", {"item": "x" * 100, "qty": 1}, version=1)
    assert raised.value.limit == 64 and raised.value.size > 64
    with pytest.raises(PayloadTooLarge, match="the result of 'order'"):
        app.encode_result(app.lookup("order", 1), "y" * 100)


def test_results_round_trip_as_the_return_annotation() -> None:
    app = shop()
    definition = app.lookup("order", 1)
    assert definition.decode_output(app.encode_result(definition, Receipt(7))) == Receipt(7)


def test_missing_annotations_mean_builtins() -> None:
    app = App("a")

    @app.workflow("w")
    async def body(ctx, x):  # type: ignore[no-untyped-def]
        return x

    assert (app.lookup("w").input_type, app.lookup("w").output_type) == (Any, Any)


def test_a_plain_function_is_rejected_at_decoration() -> None:
    app = App("a")
    with pytest.raises(WorkflowRegistrationError, match="async def") as raised:

        @app.workflow("w")
        def body(ctx: WorkflowContext, x: int) -> int:
            return x

    assert raised.value.code == "not_async"


def test_a_workflow_takes_ctx_and_input() -> None:
    app = App("a")
    with pytest.raises(WorkflowRegistrationError, match=r"\(ctx, input\)") as raised:

        @app.workflow("w")
        async def body(ctx: WorkflowContext) -> None:
            return None

    assert raised.value.code == "bad_signature"


def test_registering_a_name_and_version_twice_is_an_error() -> None:
    app = shop()

    async def again(ctx: WorkflowContext, order: Order) -> None:
        return None

    with pytest.raises(WorkflowRegistrationError, match="new version") as raised:
        app.workflow("order", version=2)(again)
    assert raised.value.code == "duplicate_workflow"


@pytest.mark.parametrize(("name", "version"), [("", 1), ("w", 0)])
def test_a_name_and_a_positive_version_are_required(name: str, version: int) -> None:
    async def body(ctx: WorkflowContext, x: int) -> int:
        return x

    with pytest.raises(WorkflowRegistrationError, match="version >= 1"):
        App("a").workflow(name, version=version)(body)
