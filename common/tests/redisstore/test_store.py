"""The store's contract, the same for Redis and the in-process equivalent."""

from __future__ import annotations

import asyncio
import uuid

from novamesh.common.redisstore import Store, open_store


def _name() -> str:
    return uuid.uuid4().hex


async def test_values_expire_after_their_ttl(store: Store) -> None:
    key = _name()
    await store.kv.set(key, b"v", ttl=0.2)
    await store.kv.set(key + "-kept", b"w")
    assert await store.kv.get_many([key, key + "-kept", key + "-none"]) == [b"v", b"w", None]
    await asyncio.sleep(0.3)
    assert await store.kv.get(key) is None
    await store.kv.delete(key + "-kept")
    assert await store.kv.get(key + "-kept") is None


async def test_heartbeats_say_down_once_the_ttl_passed(store: Store) -> None:
    host = _name()
    assert await store.heartbeats.alive([host]) == {host: False}
    await store.heartbeats.beat([host], ttl=0.2)
    assert await store.heartbeats.alive([host]) == {host: True}
    await asyncio.sleep(0.3)
    assert await store.heartbeats.alive([host]) == {host: False}


async def test_subscribers_get_what_is_published_after_they_subscribed(store: Store) -> None:
    channel = _name()
    await store.pubsub.publish(channel, b"before anyone listens")
    sub = store.pubsub.subscribe(channel)
    first = asyncio.ensure_future(anext(sub))
    # Subscribing completes on the first pull; publish until the subscriber hears one.
    for _ in range(50):
        await store.pubsub.publish(channel, b"hello")
        await asyncio.sleep(0.02)
        if first.done():
            break
    assert await first == b"hello"
    await sub.aclose()


async def test_a_command_is_recovered_until_it_is_done(store: Store) -> None:
    log = _name()
    await store.commands.record(log, "c1", b"one")
    await store.commands.record(log, "c2", b"two")
    assert await store.commands.recover(log) == [("c1", b"one"), ("c2", b"two")]
    await store.commands.done(log, "c1")
    assert await store.commands.recover(log) == [("c2", b"two")]
    assert log in await store.commands.logs()


async def test_another_consumer_takes_over_unacknowledged_commands(redis_url: str) -> None:
    """A router killed with commands in flight: its successor gets them and acks them."""
    log = _name()
    first = open_store(redis_url, consumer="router-1")
    await first.commands.record(log, "c1", b"build")
    await first.commands.record(log, "c2", b"delete")
    await first.commands.done(log, "c2")
    await first.close()

    second = open_store(redis_url, consumer="router-2")
    try:
        assert await second.commands.recover(log) == [("c1", b"build")]
        await second.commands.done(log, "c1")
        assert await second.commands.recover(log) == []
    finally:
        await second.close()
