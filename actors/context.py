"""The per-message context a handler receives: payload, sender, correlation id, reply route.

Handlers answer an ask by returning a value or by calling `ctx.reply` (now or later).
"""

from __future__ import annotations

from typing import Any, Protocol

from actors.address import Address
from actors.envelope import ErrorReply


class Replier(Protocol):
    """What a context sends its reply through (the bus)."""

    def send_reply(self, ctx: Context, payload: Any, error: bool) -> None: ...


class Context:
    """One delivered message. `corr` is 0 for a one-way send; `route` is None for a local sender."""

    __slots__ = ("cluster", "corr", "payload", "replied", "replier", "route", "sender", "target")

    def __init__(
        self,
        replier: Replier,
        target: Address,
        sender: Address,
        payload: Any,
        corr: int = 0,
        cluster: int | None = None,
        route: object | None = None,
    ) -> None:
        self.replier = replier
        self.target = target
        self.sender = sender
        self.payload = payload
        self.corr = corr
        self.cluster = cluster
        self.route = route
        self.replied = False

    @property
    def wants_reply(self) -> bool:
        """True for an ask that has not been answered yet."""
        return self.corr != 0 and not self.replied

    def reply(self, payload: Any) -> None:
        """Answer the ask with `payload` (a registered Struct); a no-op for one-way sends."""
        self._answer(payload, False)

    def fail(self, code: str, message: str) -> None:
        """Answer the ask with an error; the asker raises `RemoteError` with this code."""
        self._answer(ErrorReply(code, message), True)

    def _answer(self, payload: Any, error: bool) -> None:
        if self.wants_reply:
            self.replied = True
            self.replier.send_reply(self, payload, error)
