"""The bounded mailbox of one actor: a FIFO with back-pressure for local senders.

`put` waits for room, `put_nowait` returns False when full; it never grows past `capacity`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Mailbox(Generic[T]):
    """A bounded FIFO with one consumer (the actor) and any number of producers."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("mailbox capacity must be at least 1")
        self.capacity = capacity
        self._items: deque[T] = deque()
        self._getter: asyncio.Future[None] | None = None
        self._putters: deque[asyncio.Future[None]] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def put_nowait(self, item: T) -> bool:
        """Append `item` if there is room; False (and nothing stored) when full."""
        if len(self._items) >= self.capacity:
            return False
        self._items.append(item)
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)
        return True

    async def put(self, item: T) -> None:
        """Append `item`, waiting for room first (back-pressure on local senders)."""
        while len(self._items) >= self.capacity:
            waiter = asyncio.get_running_loop().create_future()
            self._putters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_putter()  # woken, then cancelled: hand the room on
                raise
            finally:
                if waiter in self._putters:
                    self._putters.remove(waiter)
        self.put_nowait(item)

    async def get(self) -> T:
        """Take the oldest item, waiting while the mailbox is empty."""
        while not self._items:
            self._getter = asyncio.get_running_loop().create_future()
            try:
                await self._getter
            finally:
                self._getter = None
        item = self._items.popleft()
        self._wake_putter()
        return item

    def clear(self) -> list[T]:
        """Remove and return every queued item (used when an actor stops)."""
        dropped = list(self._items)
        self._items.clear()
        while self._putters:
            self._wake_putter()
        return dropped

    def _wake_putter(self) -> None:
        while self._putters:
            waiter = self._putters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
