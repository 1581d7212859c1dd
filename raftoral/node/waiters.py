"""The group's outstanding client requests: proposals waiting for their entry to apply, and
linearizable reads waiting for their ReadIndex and then for the applied index to reach it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from actors import Context
from raftoral.errors import RaftoralError
from raftoral.raft.types import Entry, ReadState
from raftoral.wire import ErrorCode

Reply = Callable[[int, Any], Any]  # (index, apply result) -> reply payload


@dataclass
class _Waiter:
    term: int
    ctx: Context
    reply: Reply
    started: float = field(default_factory=time.perf_counter)


class Proposals:
    """Proposals by log index, answered when their entry applies (or fails)."""

    def __init__(self) -> None:
        self._by_index: dict[int, _Waiter] = {}

    def register(self, index: int, term: int, ctx: Context, reply: Reply) -> None:
        old = self._by_index.pop(index, None)
        if old is not None:
            old.ctx.fail(ErrorCode.RETRY, "a new leader replaced the entry; retry")
        self._by_index[index] = _Waiter(term, ctx, reply)

    def applied(self, entry: Entry, result: Any, error: RaftoralError | None) -> float | None:
        """Answer the proposer of `entry`, if it waits here; returns its latency when acked."""
        waiter = self._by_index.pop(entry.index, None)
        if waiter is None:
            return None
        if waiter.term != entry.term:
            waiter.ctx.fail(ErrorCode.RETRY, "a new leader replaced the entry; retry")
        elif error is not None:
            waiter.ctx.fail(ErrorCode.REJECTED, error.message)
        else:
            waiter.ctx.reply(waiter.reply(entry.index, result))
            return time.perf_counter() - waiter.started
        return None

    def replaced_by_snapshot(self, index: int) -> None:
        """A snapshot up to `index` replaced the log: those entries' outcome is unknown here."""
        for stale in [i for i in self._by_index if i <= index]:
            self._by_index.pop(stale).ctx.fail(
                ErrorCode.TIMEOUT, "a snapshot replaced the log; the outcome is unknown"
            )

    def fail_after(self, index: int, code: str, message: str) -> None:
        """Answer every proposal past `index` with `code` (those up to it are answered when they
        apply)."""
        for late in [i for i in self._by_index if i > index]:
            self._by_index.pop(late).ctx.fail(code, message)

    def fail_all(self, code: str, message: str) -> None:
        for waiter in self._by_index.values():
            waiter.ctx.fail(code, message)
        self._by_index.clear()


class Reads:
    """Linearizable reads: by token until the core confirms a read index, then by that index
    until the applied index reaches it."""

    def __init__(self) -> None:
        self._pending: dict[bytes, tuple[Context, str]] = {}
        self._ready: list[tuple[int, Context, str]] = []

    def add(self, token: bytes, ctx: Context, key: str) -> None:
        self._pending[token] = (ctx, key)

    def confirmed(self, states: Iterable[ReadState]) -> None:
        for state in states:
            waiting = self._pending.pop(state.context, None)
            if waiting is not None:
                self._ready.append((state.index, *waiting))

    def serve(self, applied: int, answer: Callable[[Context, str], None]) -> None:
        """Answer the confirmed reads whose index is applied."""
        if not self._ready:
            return
        keep = []
        for index, ctx, key in self._ready:
            if index <= applied:
                answer(ctx, key)
            else:
                keep.append((index, ctx, key))
        self._ready = keep

    def fail_pending(self, code: str, message: str) -> None:
        """Fail the reads not confirmed yet (their leader changed)."""
        for ctx, _ in self._pending.values():
            ctx.fail(code, message)
        self._pending.clear()

    def fail_all(self, code: str, message: str) -> None:
        self.fail_pending(code, message)
        for _, ctx, _ in self._ready:
            ctx.fail(code, message)
        self._ready = []
