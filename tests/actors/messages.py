"""Message kinds and small helpers shared by the actor tests and their helper processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import msgspec
from prometheus_client import CollectorRegistry

from actors import KindRegistry


class Ping(msgspec.Struct, frozen=True):
    n: int
    text: str = ""


class Pong(msgspec.Struct, frozen=True):
    n: int
    incarnation: int = 0


class Boom(msgspec.Struct, frozen=True):
    reason: str = "boom"


class Hello(msgspec.Struct, frozen=True):
    node: int
    incarnation: int


class Tick(msgspec.Struct, frozen=True):
    n: int = 0


def make_kinds() -> KindRegistry:
    kinds = KindRegistry()
    for name, struct_type in (
        ("t.ping", Ping),
        ("t.pong", Pong),
        ("t.boom", Boom),
        ("t.hello", Hello),
        ("t.tick", Tick),
    ):
        kinds.register(name, struct_type)
    return kinds


def metric(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """A sample's value, 0.0 when it does not exist yet."""
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Yield to the loop until `condition()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0)  # noqa: sleep-ok yields to the loop while awaiting the condition
