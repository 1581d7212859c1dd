"""Running the event loop: uvloop when it is installed, plain asyncio otherwise.

`run(main())` is what examples and services call instead of `asyncio.run`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is absent on Windows
    uvloop = None  # type: ignore[assignment]


def uvloop_available() -> bool:
    return uvloop is not None


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to completion on a new loop (uvloop when available)."""
    if uvloop is not None:
        return uvloop.run(main)
    return asyncio.run(main)
