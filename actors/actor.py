"""The `Actor` base class users extend, and the `@handler` decorator for typed message handlers.

Handlers are found by the annotated type of their message parameter; the runtime binds the rest.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import structlog

from actors.address import Address
from actors.context import Context
from actors.errors import ActorsError
from actors.supervision import RestartPolicy

if TYPE_CHECKING:
    from actors.bus import Bus
    from actors.timers import Timers

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")

_MARK = "__actors_handler__"
log = structlog.get_logger("actors")


def handler(fn: F) -> F:
    """Mark `fn(self, msg: SomeStruct, ctx: Context)` (sync or async) as the handler of
    `SomeStruct` (or of each member of a union). A non-None return value answers an ask."""
    setattr(fn, _MARK, True)
    return fn


class Actor:
    """Base class of user actors: override `on_start`/`on_stop`, add `@handler` methods.

    Class attributes `mailbox_capacity` and `restart_policy` tune the runtime per actor class.
    `name`, `address`, `bus` and the timers are set when the actor is spawned on a bus.
    """

    mailbox_capacity: ClassVar[int] = 1024
    restart_policy: ClassVar[RestartPolicy] = RestartPolicy()

    name: str
    address: Address
    bus: Bus
    timers: Timers

    async def on_start(self) -> None:
        """Called when the actor starts and again after every restart; (re)initialise state."""

    async def on_stop(self) -> None:
        """Called once when the actor stops (bus closed, stopped, or restart limit reached)."""

    async def on_unhandled(self, message: Any, ctx: Context) -> Any:
        """Called for a message without a handler; by default logs it and fails an ask.
        Like a handler, it may answer an ask by returning a value."""
        kind = type(message).__name__
        log.warning("actor has no handler", actor=self.name, kind=kind)
        ctx.fail("unhandled", f"actor {self.address} has no handler for {kind}")

    async def send(self, to: Address, message: Any, *, cluster: int | None = None) -> None:
        await self.bus.send(to, message, cluster=cluster, sender=self.address)

    def try_send(self, to: Address, message: Any, *, cluster: int | None = None) -> bool:
        return self.bus.try_send(to, message, cluster=cluster, sender=self.address)

    async def ask(
        self, to: Address, message: Any, *, timeout: float = 5.0, cluster: int | None = None
    ) -> Any:
        bus = self.bus
        return await bus.ask(to, message, timeout=timeout, cluster=cluster, sender=self.address)

    def start_timer(self, key: str, delay: float, message: Any, *, repeat: bool = False) -> None:
        """Deliver `message` to this actor after `delay` seconds (every `delay` if `repeat`)."""
        self.timers.start(key, delay, message, repeat=repeat)

    def cancel_timer(self, key: str) -> None:
        self.timers.cancel(key)


class HandlerSpec(typing.NamedTuple):
    """A bound handler and whether it must be awaited."""

    call: Callable[[Any, Context], Any]
    is_async: bool


def bind_handlers(actor: Actor) -> dict[type[Any], HandlerSpec]:
    """Map each handled message type to the actor's bound handler (subclasses override)."""
    table: dict[type[Any], HandlerSpec] = {}
    for attr in _handler_names(type(actor)):
        method = getattr(actor, attr)
        spec = HandlerSpec(method, inspect.iscoroutinefunction(method))
        for message_type in _message_types(method):
            table[message_type] = spec
    return table


def _handler_names(cls: type[Actor]) -> list[str]:
    names: dict[str, None] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if getattr(value, _MARK, False):
                names[attr] = None
    return list(names)


def _message_types(method: Callable[..., Any]) -> list[type[Any]]:
    params = list(inspect.signature(method).parameters)
    hints = typing.get_type_hints(method)
    if len(params) != 2 or params[0] not in hints:
        raise ActorsError(
            f"handler {method.__qualname__} must be (self, msg: SomeStruct, ctx: Context)",
            code="bad_handler",
        )
    annotation = hints[params[0]]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return list(typing.get_args(annotation))
    return [annotation]
