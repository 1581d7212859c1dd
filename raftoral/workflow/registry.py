"""Registered workflows by name and version: each definition's function, its input and output
types (from the annotations), and input validation and output encoding against them."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from raftoral.errors import InvalidInput, UnknownVersion, UnknownWorkflow, WorkflowRegistrationError
from raftoral.workflow.codec import decode_value, encode_value, error_path
from raftoral.workflow.context import WorkflowContext

WorkflowFn = Callable[[WorkflowContext, Any], Awaitable[Any]]
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class WorkflowDefinition:
    """One (name, version): the async function and the types its input and output travel as."""

    def __init__(self, name: str, version: int, fn: WorkflowFn, input_type: Any, output_type: Any):
        self.name = name
        self.version = version
        self.fn = fn
        self.input_type = input_type
        self.output_type = output_type

    def __repr__(self) -> str:
        return f"<workflow {self.name!r} v{self.version}: {self.fn.__qualname__}>"

    def decode_input(self, data: bytes) -> Any:
        """The input as the function's annotation types it; InvalidInput (with msgspec's path)
        when it does not match."""
        try:
            return decode_value(data, self.input_type)
        except msgspec.DecodeError as exc:
            path = error_path(exc) if isinstance(exc, msgspec.ValidationError) else "$"
            raise InvalidInput(
                f"invalid input for workflow {self.name!r} v{self.version}: {exc}", path=path
            ) from exc

    def encode_output(self, value: object) -> bytes:
        return encode_value(value, f"the result of workflow {self.name!r} v{self.version}")

    def decode_output(self, data: bytes) -> Any:
        return decode_value(data, self.output_type)


def define(name: str, version: int, fn: Callable[..., Any]) -> WorkflowDefinition:
    """Check that `fn` is `async def f(ctx, input)` and read its types from the annotations."""
    where = f"workflow {name!r} v{version} ({getattr(fn, '__qualname__', fn)!r})"
    if not name or not isinstance(version, int) or version < 1:
        raise WorkflowRegistrationError(
            f"{where}: a workflow needs a non-empty name and a version >= 1", code="bad_name"
        )
    if not inspect.iscoroutinefunction(fn):
        raise WorkflowRegistrationError(
            f"{where} is not an async function; define it as `async def f(ctx, input)`",
            code="not_async",
        )
    params = list(inspect.signature(fn).parameters.values())
    if len(params) != 2 or any(p.kind not in _POSITIONAL for p in params):
        raise WorkflowRegistrationError(
            f"{where} must take exactly two positional parameters, (ctx, input)",
            code="bad_signature",
        )
    hints = _type_hints(fn, where)
    return WorkflowDefinition(
        name, version, fn, hints.get(params[1].name, Any), hints.get("return", Any)
    )


def _type_hints(fn: Callable[..., Any], where: str) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except (NameError, TypeError) as exc:
        raise WorkflowRegistrationError(
            f"{where}: its annotations cannot be resolved ({exc}); define the types at module"
            " level",
            code="bad_signature",
        ) from exc


class Registry:
    """Definitions by name, each name with one or more versions side by side."""

    def __init__(self) -> None:
        self._by_name: dict[str, dict[int, WorkflowDefinition]] = {}

    def add(self, definition: WorkflowDefinition) -> None:
        versions = self._by_name.setdefault(definition.name, {})
        existing = versions.get(definition.version)
        if existing is not None:
            raise WorkflowRegistrationError(
                f"workflow {definition.name!r} v{definition.version} is already registered"
                f" ({existing.fn.__qualname__}); give the new code a new version",
                code="duplicate_workflow",
            )
        versions[definition.version] = definition

    def lookup(self, name: str, version: int | None = None) -> WorkflowDefinition:
        """The definition of `name` at `version`, or its newest version when None."""
        versions = self._by_name.get(name)
        if not versions:
            known = ", ".join(sorted(self._by_name)) or "none"
            raise UnknownWorkflow(
                f"no workflow {name!r} is registered on this node (registered: {known})"
            )
        chosen = max(versions) if version is None else version
        if chosen not in versions:
            raise UnknownVersion(
                f"workflow {name!r} has no version {version} on this node (versions:"
                f" {', '.join(map(str, sorted(versions)))})",
                known=tuple(sorted(versions)),
            )
        return versions[chosen]

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def versions(self, name: str) -> tuple[int, ...]:
        return tuple(sorted(self._by_name.get(name, {})))
