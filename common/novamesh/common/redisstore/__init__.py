"""What Redis holds for the mesh, behind one interface each, with in-process equivalents.

`open_store(url)` returns a `Store`: a key-value space with expiry (the instance-mapping cache,
service heartbeats), publish/subscribe (the event buses shared by router replicas) and durable
command logs (Redis streams with a consumer group, acknowledged when a command's result
arrives). An empty URL gives the in-process equivalents: one machine, no Redis, nothing survives
a restart of the process.
"""

from __future__ import annotations

from novamesh.common.redisstore.base import CommandLog, Heartbeats, KeyValue, PubSub, Store
from novamesh.common.redisstore.memory import memory_store

__all__ = ["CommandLog", "Heartbeats", "KeyValue", "PubSub", "Store", "open_store"]


def open_store(url: str, consumer: str = "") -> Store:
    """The store for `url` (`redis://…`), or the in-process one when `url` is empty.

    `consumer` names this process in the command logs' consumer group (a restarted process
    takes over what any earlier consumer left unacknowledged).
    """
    if not url:
        return memory_store()
    from novamesh.common.redisstore.remote import redis_store

    return redis_store(url, consumer)
