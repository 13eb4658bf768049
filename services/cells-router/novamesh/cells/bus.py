"""An in-process broadcast: every subscriber gets every item published after it subscribed.

A subscriber that falls too far behind is dropped (its iterator ends) rather than slowing the
publisher; a watcher reconnects and starts from a fresh snapshot. Redis pub/sub can stand
behind the same interface.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

T = TypeVar("T")

_CLOSED = object()


class Subscription(Generic[T]):
    def __init__(self, bus: Bus[T], accept: Callable[[T], bool], depth: int) -> None:
        self._bus = bus
        self._accept = accept
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=depth)

    def offer(self, item: T) -> None:
        if not self._accept(item):
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self._bus.unsubscribe(self)
            self.close()

    def close(self) -> None:
        while True:
            try:
                self._queue.put_nowait(_CLOSED)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()

    async def __aiter__(self) -> AsyncIterator[T]:
        try:
            while True:
                item = await self._queue.get()
                if item is _CLOSED:
                    return
                yield item  # type: ignore[misc]
        finally:
            self._bus.unsubscribe(self)


class Bus(Generic[T]):
    def __init__(self, depth: int = 10_000) -> None:
        self._subs: set[Subscription[T]] = set()
        self._depth = depth

    def subscribe(self, accept: Callable[[T], bool] = lambda _: True) -> Subscription[T]:
        sub = Subscription(self, accept, self._depth)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription[T]) -> None:
        self._subs.discard(sub)

    def publish(self, item: T) -> None:
        for sub in list(self._subs):
            sub.offer(item)

    def close(self) -> None:
        for sub in list(self._subs):
            sub.close()
        self._subs.clear()

    def __len__(self) -> int:
        return len(self._subs)
