"""Raft core benchmarks: SQLite log writes beside a plain fsync'd file, and the pure core's commits.

Figures are reported, never asserted: python benchmarks/bench_raft_core.py [--quick] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import struct
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from raftoral.raft.config import RaftConfig
from raftoral.raft.core import RaftCore
from raftoral.raft.types import ConfState, Entry, HardState, Message, Role
from raftoral.storage import MemoryStorage, SqliteStorage

PAYLOAD = b"x" * 100
STORAGE_BATCHES = (1, 64, 1024)
CORE_BATCHES = (1, 64)
STORAGE_COLS = ("batch", "SqliteStorage entries/s", "fsync'd file entries/s", "sqlite / file")
CORE_COLS = ("proposals per step", "entries committed/s")
Row = tuple[str, ...]
RECORD_HEADER = struct.Struct(">qqI")  # term, index, length: what the plain file stores per entry


def run_for(budget: float, max_entries: int, step: Callable[[], int]) -> float:
    """Call `step` (returns entries done) until the time budget or the entry cap; entries/s."""
    done, start = 0, time.perf_counter()
    while True:
        done += step()
        elapsed = time.perf_counter() - start
        if elapsed >= budget or done >= max_entries:
            return done / elapsed


# -- (a) storage ---------------------------------------------------------------------------------


class SqliteWriter:
    """Appends batches through SqliteStorage.save (entries and hard state, one transaction)."""

    def __init__(self, path: Path, batch: int) -> None:
        self.store, self.batch, self.next_index = SqliteStorage(path), batch, 1

    def step(self) -> int:
        first = self.next_index
        entries = [Entry(1, i, data=PAYLOAD) for i in range(first, first + self.batch)]
        self.store.save(HardState(1, 1, first - 1), entries)
        self.next_index = first + self.batch
        return self.batch

    def close(self) -> None:
        self.store.close()


class FileWriter:
    """The baseline: the same records appended to a plain file, write + os.fsync per batch."""

    def __init__(self, path: Path, batch: int) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.batch, self.next_index = batch, 1

    def step(self) -> int:
        first = self.next_index
        last = first + self.batch
        records = [RECORD_HEADER.pack(1, i, len(PAYLOAD)) + PAYLOAD for i in range(first, last)]
        os.write(self.fd, b"".join(records))
        os.fsync(self.fd)
        self.next_index = last
        return self.batch

    def close(self) -> None:
        os.close(self.fd)


def storage_row(workdir: Path, batch: int, budget: float, cap: int, rounds: int) -> Row:
    """Median rates of SQLite and the plain file over alternating rounds (fsync time drifts)."""
    writers: tuple[SqliteWriter | FileWriter, ...] = (
        SqliteWriter(workdir / f"raft-{batch}.db", batch),
        FileWriter(workdir / f"plain-{batch}.log", batch),
    )
    rates: tuple[list[float], list[float]] = ([], [])
    try:
        for _ in range(rounds):
            for writer, out in zip(writers, rates, strict=True):
                out.append(run_for(budget / rounds, cap // rounds, writer.step))
    finally:
        for writer in writers:
            writer.close()
    sqlite, plain = statistics.median(rates[0]), statistics.median(rates[1])
    return str(batch), f"{sqlite:,.0f}", f"{plain:,.0f}", f"{sqlite / plain:.2f}"


# -- (b) pure core -------------------------------------------------------------------------------


class Cluster:
    """Three RaftCores over MemoryStorage, messages delivered in process; no I/O, no clock."""

    def __init__(self) -> None:
        self.cores: dict[int, RaftCore] = {}
        self.stores: dict[int, MemoryStorage] = {}
        for node in (1, 2, 3):
            store = MemoryStorage()
            store.bootstrap(ConfState((1, 2, 3)))
            config = RaftConfig(node_id=node)
            self.cores[node] = RaftCore(config, store, random.Random(node))
            self.stores[node] = store
        self.inbox: list[Message] = []
        self.cores[1].campaign()
        self.pump()
        if self.cores[1].role != Role.LEADER:
            raise RuntimeError("node 1 did not become leader")

    def pump(self) -> None:
        """Run every Ready and deliver every message until the cluster is quiet."""
        while True:
            for node, core in self.cores.items():
                if core.has_ready():
                    self.handle_ready(node, core)
            if not self.inbox:
                return
            inbox, self.inbox = self.inbox, []
            for msg in inbox:
                self.cores[msg.to].step(msg)

    def handle_ready(self, node: int, core: RaftCore) -> None:
        rd = core.ready()
        self.inbox.extend(rd.messages)
        self.stores[node].save(rd.hard_state, rd.entries, rd.snapshot, sync=rd.must_sync)
        self.inbox.extend(rd.messages_after_persist)
        core.advance(rd)


def core_rate(batch: int, budget: float, cap: int) -> float:
    cluster = Cluster()
    leader = cluster.cores[1]

    def step() -> int:
        last = leader.propose_batch([PAYLOAD] * batch)[-1]
        cluster.pump()
        if leader.commit_index < last:
            raise RuntimeError(f"proposal {last} not committed (commit {leader.commit_index})")
        return batch

    return run_for(budget, cap, step)


def core_rows(budget: float, cap: int) -> list[Row]:
    return [(str(batch), f"{core_rate(batch, budget, cap):,.0f}") for batch in CORE_BATCHES]


# -- report --------------------------------------------------------------------------------------


def table(title: str, headers: Row, rows: Sequence[Row]) -> Table:
    out = Table(title=title)
    for header in headers:
        out.add_column(header, justify="right")
    for row in rows:
        out.add_row(*row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (about 3 s in all)")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="where to write (a real disk)")
    args = parser.parse_args()
    budget, cap, rounds = (0.3, 20_000, 1) if args.quick else (3.0, 2_000_000, 5)
    console = Console()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-raft-") as tmp:
        rows = [storage_row(Path(tmp), b, budget, cap, rounds) for b in STORAGE_BATCHES]
    console.print(table(f"(a) persisting 100-byte entries under {args.dir}", STORAGE_COLS, rows))
    console.print(
        table("(b) pure core, 3 nodes in process, no I/O", CORE_COLS, core_rows(budget, cap))
    )


if __name__ == "__main__":
    main()
