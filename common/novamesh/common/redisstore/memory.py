"""The in-process store: the same interfaces as Redis, for one process on one machine."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Sequence

from novamesh.common.redisstore.base import Store


class MemoryKeyValue:
    def __init__(self) -> None:
        # key -> (expires at on the monotonic clock or None, value)
        self._items: dict[str, tuple[float | None, bytes]] = {}

    async def get(self, key: str) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires is not None and time.monotonic() >= expires:
            del self._items[key]
            return None
        return value

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [await self.get(k) for k in keys]

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        expires = None if ttl is None else time.monotonic() + ttl
        self._items[key] = (expires, value)
        if len(self._items) > 200_000:
            self._sweep()

    async def delete(self, key: str) -> None:
        self._items.pop(key, None)

    def _sweep(self) -> None:
        now = time.monotonic()
        for key in [k for k, (e, _) in self._items.items() if e is not None and now >= e]:
            del self._items[key]


class MemoryPubSub:
    def __init__(self, depth: int = 10_000) -> None:
        self._subs: dict[str, set[asyncio.Queue[bytes]]] = {}
        self._depth = depth

    async def publish(self, channel: str, payload: bytes) -> None:
        for queue in list(self._subs.get(channel, ())):
            if queue.full():
                # A subscriber this far behind loses the oldest message, as a slow Redis
                # pub/sub client would be cut off; the publisher never waits.
                queue.get_nowait()
            queue.put_nowait(payload)

    async def subscribe(self, channel: str) -> AsyncGenerator[bytes, None]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(self._depth)
        self._subs.setdefault(channel, set()).add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            subs = self._subs.get(channel)
            if subs is not None:
                subs.discard(queue)
                if not subs:
                    del self._subs[channel]


class MemoryCommandLog:
    def __init__(self) -> None:
        self._logs: dict[str, OrderedDict[str, bytes]] = {}

    async def record(self, log: str, command_id: str, payload: bytes) -> None:
        self._logs.setdefault(log, OrderedDict())[command_id] = payload

    async def done(self, log: str, command_id: str) -> None:
        entries = self._logs.get(log)
        if entries is not None:
            entries.pop(command_id, None)
            if not entries:
                del self._logs[log]

    async def recover(self, log: str) -> list[tuple[str, bytes]]:
        return list(self._logs.get(log, {}).items())

    async def logs(self) -> list[str]:
        return sorted(self._logs)


def memory_store() -> Store:
    async def close() -> None:
        return None

    return Store(MemoryKeyValue(), MemoryPubSub(), MemoryCommandLog(), durable=False, close=close)
