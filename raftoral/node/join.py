"""Talking to seed nodes known only by host:port, from a short-lived client bus: asking for a
node id, joining as a learner, learning who a seed is (`Hello`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, TypeVar

import structlog

from actors import ActorsError, AskTimeout, Bus, RemoteError
from raftoral.node.config import ConfigError
from raftoral.wire import ErrorCode, client_node_id, seed_address

T = TypeVar("T")
log = structlog.get_logger("raftoral.node")

RETRY_PAUSE = 0.2  # between rounds over all seeds


class SeedsUnreachable(ConfigError):
    code = "unreachable"


async def ask_seeds(
    seeds: Sequence[str], request: Any, *, expect: type[T], within: float, timeout: float = 2.0
) -> T:
    """Ask each seed in turn until one answers (retrying transient errors) or `within` seconds
    pass. A `rejected` answer raises ConfigError at once."""
    bus = await Bus(client_node_id()).start()
    try:
        for alias, seed in enumerate(seeds, start=1):
            bus.add_peer(-alias, seed)
        deadline = time.monotonic() + within
        last = "no answer"
        while True:
            for alias, seed in enumerate(seeds, start=1):
                try:
                    to = seed_address(-alias)
                    return await bus.ask(to, request, timeout=timeout, expect=expect)
                except RemoteError as exc:
                    if exc.code == ErrorCode.REJECTED:
                        kind = type(request).__name__
                        raise ConfigError(f"{seed} rejected {kind}: {exc}") from exc
                    last = f"{seed}: {exc.code}: {exc}"
                except (AskTimeout, ActorsError) as exc:
                    last = f"{seed}: {exc}"
                if time.monotonic() > deadline:
                    raise SeedsUnreachable(
                        f"no seed of {', '.join(seeds)} answered {type(request).__name__} within "
                        f"{within:.0f}s (last: {last}); check --join and that the cluster runs"
                    )
            log.debug("seeds not ready, retrying", last=last)
            await asyncio.sleep(RETRY_PAUSE)
    finally:
        await bus.close()
