"""The Redis store: keys with PX expiry, pub/sub channels, and streams with a consumer group.

A command log is the stream `novamesh:commands:<log>`. Recording appends (XADD) and reads the
entry into this consumer's pending list (XREADGROUP), so Redis knows it was taken but not yet
done; `done` acknowledges and deletes it (XACK, XDEL), which keeps a stream as short as the
work still in flight. `recover` claims whatever any consumer left pending (XAUTOCLAIM), e.g.
a router that was killed, and takes entries never read at all.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import redis.asyncio as aioredis
from novamesh.common.redisstore.base import Store
from redis.exceptions import ResponseError

LOG = logging.getLogger(__name__)

STREAM_PREFIX = "novamesh:commands:"
STREAMS_KEY = "novamesh:command-logs"
GROUP = "routers"


class RedisKeyValue:
    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client

    async def get(self, key: str) -> bytes | None:
        return _bytes(await self._r.get(key))

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        return [_bytes(v) for v in await self._r.mget(list(keys))]

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        px = None if ttl is None else max(int(ttl * 1000), 1)
        await self._r.set(key, value, px=px)

    async def delete(self, key: str) -> None:
        await self._r.delete(key)


class RedisPubSub:
    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client

    async def publish(self, channel: str, payload: bytes) -> None:
        await self._r.publish(channel, payload)

    async def subscribe(self, channel: str) -> AsyncGenerator[bytes, None]:
        pubsub = self._r.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(channel)
        try:
            while True:
                msg: dict[str, Any] | None = await pubsub.get_message(timeout=None)
                if msg is not None and msg.get("type") == "message":
                    yield bytes(msg["data"])
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]


class RedisCommandLog:
    def __init__(self, client: aioredis.Redis, consumer: str) -> None:
        self._r = client
        self._consumer = consumer
        self._groups: set[str] = set()
        # command id -> stream entry id, for the acknowledgement.
        self._entries: dict[str, str] = {}

    async def _group(self, key: str) -> None:
        if key in self._groups:
            return
        try:
            await self._r.xgroup_create(key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add(key)

    async def record(self, log: str, command_id: str, payload: bytes) -> None:
        key = STREAM_PREFIX + log
        await self._group(key)
        entry = await self._r.xadd(key, {"id": command_id, "command": payload})
        self._entries[command_id] = _text(entry)
        await self._r.sadd(STREAMS_KEY, log)
        # Take what was added for this consumer (ours, and any another process added and
        # did not take before it died).
        await self._r.xreadgroup(GROUP, self._consumer, {key: ">"}, count=1000)

    async def done(self, log: str, command_id: str) -> None:
        key = STREAM_PREFIX + log
        entry = self._entries.pop(command_id, None)
        if entry is None:
            entry = await self._find(key, command_id)
            if entry is None:
                return
        await self._r.xack(key, GROUP, entry)
        await self._r.xdel(key, entry)

    async def recover(self, log: str) -> list[tuple[str, bytes]]:
        key = STREAM_PREFIX + log
        await self._group(key)
        start = "0-0"
        while True:
            reply = await self._r.xautoclaim(
                key, GROUP, self._consumer, min_idle_time=0, start_id=start, count=1000
            )
            start = _text(reply[0])
            if start == "0-0":
                break
        await self._r.xreadgroup(GROUP, self._consumer, {key: ">"}, count=100_000)
        out = []
        for entry, fields in _stream(await self._r.xrange(key)):
            command_id = _text(fields[b"id"])
            self._entries[command_id] = entry
            out.append((command_id, fields[b"command"]))
        return out

    async def logs(self) -> list[str]:
        return sorted(_text(m) for m in await self._r.smembers(STREAMS_KEY))

    async def _find(self, key: str, command_id: str) -> str | None:
        for entry, fields in _stream(await self._r.xrange(key)):
            if _text(fields.get(b"id", b"")) == command_id:
                return entry
        return None


def _bytes(value: object) -> bytes | None:
    if value is None:
        return None
    return value.encode() if isinstance(value, str) else bytes(value)  # type: ignore[call-overload]


def _stream(raw: Any) -> list[tuple[str, dict[bytes, bytes]]]:
    """XRANGE's reply as (entry id, fields) with byte keys and values."""
    out = []
    for entry, fields in raw or []:
        out.append((_text(entry), {_bytes(k) or b"": _bytes(v) or b"" for k, v in fields.items()}))
    return out


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def redis_store(url: str, consumer: str = "") -> Store:
    client = aioredis.Redis.from_url(url)

    async def close() -> None:
        try:
            await client.aclose()
        except (RuntimeError, asyncio.CancelledError):  # the loop is already going away
            LOG.debug("redis client closed late")

    return Store(
        RedisKeyValue(client),
        RedisPubSub(client),
        RedisCommandLog(client, consumer or default_consumer()),
        durable=True,
        close=close,
    )
