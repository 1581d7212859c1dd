"""A cluster of `raftoral node` OS processes on 127.0.0.1 for the process tests, and a client bus
that talks to each node by host:port. Every process is started through the reaper fixture."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from actors import ActorsError, Bus, RemoteError
from raftoral.wire import (
    ClusterInfo,
    ClusterInfoRequest,
    ErrorCode,
    Hello,
    HelloReply,
    KvGet,
    KvPut,
    KvValue,
    KvWritten,
    client_node_id,
    seed_address,
)
from tests.conftest import Reaper, free_ports

T = TypeVar("T")
TRANSIENT = {ErrorCode.NO_LEADER, ErrorCode.NOT_LEADER, ErrorCode.RETRY, ErrorCode.TIMEOUT}
# Short timeouts keep the suite fast: 10 ms ticks, elections after 100-200 ms.
FAST = ("--tick-ms", "10", "--election-tick", "10")


async def wait_for(check: Callable[[], Awaitable[T | None]], within: float, what: str) -> T:
    """Poll `check` until it returns a truthy value; fail with `what` after `within` seconds."""
    deadline = time.monotonic() + within
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = await check()
        except (ActorsError, AssertionError) as exc:
            last, result = exc, None
        if result:
            return result
        await asyncio.sleep(0.05)  # noqa: sleep-ok poll interval of a condition wait with a deadline
    raise AssertionError(f"timed out after {within}s waiting for {what} (last: {last!r})")


class ProcessCluster:
    """Nodes by slot (1, 2, ...): slot == node id for --peers members; a joined node's id is
    whatever the cluster assigned (see `node_id`)."""

    def __init__(self, reaper: Reaper, root: Path, slots: int, extra: Sequence[str] = ()) -> None:
        self.reaper = reaper
        self.root = root
        self.extra = [*FAST, *extra]
        self.ports = dict(enumerate(free_ports(slots), start=1))
        self.metrics_ports = dict(enumerate(free_ports(slots), start=1))
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.args: dict[int, list[str]] = {}
        self.bus: Bus | None = None

    def address(self, slot: int) -> str:
        return f"127.0.0.1:{self.ports[slot]}"

    def peers_spec(self, slots: Sequence[int]) -> str:
        return ",".join(f"{slot}={self.address(slot)}" for slot in slots)

    # -- processes ---------------------------------------------------------------------------

    def start(self, slot: int, mode: Sequence[str]) -> None:
        args = [
            sys.executable, "-m", "raftoral.cli", "node",
            "--listen", self.address(slot),
            "--data-dir", str(self.root / f"n{slot}"),
            "--metrics-port", str(self.metrics_ports[slot]),
            *mode, *self.extra,
        ]  # fmt: skip
        self.args[slot] = args
        self.procs[slot] = self.reaper.start(args, self.root / f"n{slot}.log")

    def start_peers(self, slots: Sequence[int]) -> None:
        for slot in slots:
            self.start(slot, ["--peers", self.peers_spec(slots), "--node-id", str(slot)])

    def restart(self, slot: int) -> None:
        self.procs[slot] = self.reaper.start(self.args[slot], self.root / f"n{slot}.log")

    def kill(self, slot: int) -> None:
        proc = self.procs[slot]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def terminate(self, slot: int, within: float = 10.0) -> int:
        proc = self.procs[slot]
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=within)

    def log(self, slot: int) -> str:
        return (self.root / f"n{slot}.log").read_text(errors="replace")

    # -- client ------------------------------------------------------------------------------

    async def client(self) -> Bus:
        if self.bus is None:
            self.bus = await Bus(client_node_id()).start()
            for slot in self.ports:
                self.bus.add_peer(-slot, self.address(slot))
        return self.bus

    async def close(self) -> None:
        if self.bus is not None:
            await self.bus.close()

    async def ask(self, slot: int, message: Any, timeout: float = 2.0) -> Any:
        bus = await self.client()
        return await bus.ask(seed_address(-slot), message, timeout=timeout)

    async def node_id(self, slot: int) -> int:
        hello: HelloReply = await self.ask(slot, Hello())
        return hello.node_id

    async def info(self, slot: int) -> ClusterInfo:
        info: ClusterInfo = await self.ask(slot, ClusterInfoRequest())
        return info

    async def leader(self, slots: Sequence[int], within: float = 10.0) -> int:
        """The slot of the node that says it leads (and a majority of `slots` agrees)."""

        async def check() -> int | None:
            views = [await self.info(slot) for slot in slots]
            leaders = [v.node_id for v in views if v.role == "leader"]
            agreed = sum(v.leader == leaders[0] for v in views) if len(leaders) == 1 else 0
            if agreed * 2 > len(slots):
                return next(s for s, v in zip(slots, views, strict=True) if v.role == "leader")
            return None

        return await wait_for(check, within, f"one leader among {list(slots)}")

    async def put(self, slot: int, key: str, value: bytes, within: float = 10.0) -> KvWritten:
        """Put through `slot`, retrying transient errors (a retried put is idempotent here)."""

        async def attempt() -> KvWritten | None:
            try:
                written: KvWritten = await self.ask(slot, KvPut(key, value), timeout=2.0)
            except RemoteError as exc:
                if exc.code in TRANSIENT:
                    return None
                raise
            return written

        return await wait_for(attempt, within, f"put {key} through slot {slot}")

    async def get(self, slot: int, key: str, linearizable: bool = True) -> KvValue:
        async def attempt() -> KvValue | None:
            try:
                value: KvValue = await self.ask(slot, KvGet(key, linearizable), timeout=2.0)
            except RemoteError as exc:
                if exc.code in TRANSIENT:
                    return None
                raise
            return value

        return await wait_for(attempt, 10.0, f"get {key} from slot {slot}")

    async def caught_up(self, slots: Sequence[int], within: float = 20.0) -> None:
        """Wait until every node in `slots` has applied the leader's commit index."""

        async def check() -> bool:
            views = [await self.info(slot) for slot in slots]
            target = max(v.commit for v in views)
            return all(v.applied >= target for v in views)

        await wait_for(check, within, f"slots {list(slots)} caught up")
