"""Fixtures of the actor tests: a kinds registry, an isolated metrics registry, buses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from prometheus_client import CollectorRegistry

from actors import Bus, Clock, KindRegistry, TransportOptions
from tests.actors.messages import make_kinds


@pytest.fixture
def kinds() -> KindRegistry:
    return make_kinds()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


MakeBus = Callable[..., Awaitable[Bus]]


@pytest.fixture
async def make_bus(kinds: KindRegistry, registry: CollectorRegistry) -> AsyncIterator[MakeBus]:
    """`await make_bus(node_id, listen=..., clock=..., options=...)`: a started bus, closed after
    the test. Every bus of a test shares the test's metrics registry."""
    buses: list[Bus] = []

    async def make(
        node_id: int,
        *,
        listen: str | None = "127.0.0.1:0",
        clock: Clock | None = None,
        options: TransportOptions | None = None,
    ) -> Bus:
        bus = Bus(
            node_id, listen=listen, kinds=kinds, clock=clock, registry=registry, options=options
        )
        buses.append(bus)
        return await bus.start()

    yield make
    for bus in buses:
        await bus.close()
