"""The interfaces: key-value with expiry, publish/subscribe, durable command logs."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class KeyValue(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...
    # ttl in seconds; None keeps the value until it is deleted.
    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None: ...
    async def delete(self, key: str) -> None: ...


class PubSub(Protocol):
    async def publish(self, channel: str, payload: bytes) -> None: ...

    def subscribe(self, channel: str) -> AsyncGenerator[bytes, None]:
        """Every payload published on `channel` after the subscription is in place.

        The iterator is an async generator: close it (or leave its loop) to unsubscribe.
        """
        ...


class CommandLog(Protocol):
    """Commands that must survive a restart, one log (a Redis stream) per destination.

    `record` appends a command and takes it for this consumer; `done` acknowledges and drops it
    once its result arrived; `recover` hands back every command of a log that was recorded but
    never acknowledged, whichever consumer recorded it.
    """

    async def record(self, log: str, command_id: str, payload: bytes) -> None: ...
    async def done(self, log: str, command_id: str) -> None: ...
    async def recover(self, log: str) -> list[tuple[str, bytes]]: ...
    async def logs(self) -> list[str]: ...


class Heartbeats:
    """Service liveness: a beat is a key that expires after `ttl` seconds."""

    PREFIX = "novamesh:heartbeat:"

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def beat(self, names: Sequence[str], ttl: float) -> None:
        stamp = repr(time.time()).encode()
        for name in names:
            await self._kv.set(self.PREFIX + name, stamp, ttl)

    async def alive(self, names: Sequence[str]) -> dict[str, bool]:
        found = await self._kv.get_many([self.PREFIX + n for n in names])
        return {n: v is not None for n, v in zip(names, found, strict=True)}

    async def forget(self, name: str) -> None:
        await self._kv.delete(self.PREFIX + name)


@dataclass
class Store:
    kv: KeyValue
    pubsub: PubSub
    commands: CommandLog
    # True when the store outlives the process (Redis).
    durable: bool
    close: Callable[[], Awaitable[None]]
    heartbeats: Heartbeats = field(init=False)

    def __post_init__(self) -> None:
        self.heartbeats = Heartbeats(self.kv)
