"""`raftoral.App`: the user's collection of workflows (`@app.workflow(name, version=N)`) and the
checks an entry node makes before proposing a start (lookup, input validation, payload size)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from raftoral.errors import InvalidInput, PayloadTooLarge, UnencodableValue
from raftoral.workflow.codec import encode_value
from raftoral.workflow.registry import Registry, WorkflowDefinition, define

DEFAULT_MAX_PAYLOAD: Final = 1 << 20  # bytes of MessagePack, for inputs and results

_F = TypeVar("_F", bound=Callable[..., Any])


class App:
    """Workflows registered under one application name. The same App (same names, versions and
    code) must be given to every node that runs workflows."""

    def __init__(self, name: str, *, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD) -> None:
        self.name = name
        self.max_payload_bytes = max_payload_bytes
        self.registry = Registry()

    def workflow(self, name: str, *, version: int = 1) -> Callable[[_F], _F]:
        """Register `async def f(ctx, input) -> output` as workflow `name` at `version`; the
        function is returned unchanged."""

        def register(fn: _F) -> _F:
            self.registry.add(define(name, version, fn))
            return fn

        return register

    def lookup(self, name: str, version: int | None = None) -> WorkflowDefinition:
        return self.registry.lookup(name, version)

    def prepare_input(
        self, name: str, value: object, *, version: int | None = None
    ) -> tuple[WorkflowDefinition, bytes]:
        """The definition a start runs and its input as it travels: validated against the
        annotation and re-encoded from the typed value, so equal inputs give equal bytes (which
        the idempotency check compares)."""
        definition = self.lookup(name, version)
        what = f"the input of workflow {name!r}"
        try:
            typed = definition.decode_input(self._encode(value, what))
        except UnencodableValue as exc:
            raise InvalidInput(exc.message) from exc
        return definition, self._encode(typed, what)

    def encode_result(self, definition: WorkflowDefinition, value: object) -> bytes:
        data = definition.encode_output(value)
        self.check_payload(data, f"the result of {definition.name!r}")
        return data

    def check_payload(self, data: bytes, what: str) -> None:
        if len(data) > self.max_payload_bytes:
            raise PayloadTooLarge(
                f"{what} is {len(data)} bytes, over the limit of {self.max_payload_bytes};"
                " pass a reference (a key, a URL) instead of the data",
                size=len(data),
                limit=self.max_payload_bytes,
            )

    def _encode(self, value: object, what: str) -> bytes:
        data = encode_value(value, what)
        self.check_payload(data, what)
        return data
