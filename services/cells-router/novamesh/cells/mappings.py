"""Instance-mapping resolution with a cache: which cell holds an instance.

Seed 004 asks for a cache in front of the two lookups every per-instance request makes. Only
mappings that point at a cell are cached (a build request's mapping changes within seconds);
moves and deletes invalidate. With Redis configured every router replica shares one cache
(and an invalidation reaches them all); without, each process keeps its own.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import OrderedDict
from typing import Protocol

from novamesh.cells.apistore import ApiStore, Mapping
from novamesh.common.redisstore import KeyValue, Store


class MappingCache(Protocol):
    async def get(self, instance_uuid: str) -> Mapping | None: ...
    async def put(self, mapping: Mapping) -> None: ...
    async def invalidate(self, instance_uuid: str) -> None: ...


class InProcessCache:
    """A bounded LRU with a time limit per entry."""

    def __init__(self, size: int = 100_000, ttl: float = 300.0) -> None:
        self._items: OrderedDict[str, tuple[float, Mapping]] = OrderedDict()
        self._size = size
        self._ttl = ttl

    async def get(self, instance_uuid: str) -> Mapping | None:
        item = self._items.get(instance_uuid)
        if item is None:
            return None
        stored, mapping = item
        if time.monotonic() - stored > self._ttl:
            del self._items[instance_uuid]
            return None
        self._items.move_to_end(instance_uuid)
        return mapping

    async def put(self, mapping: Mapping) -> None:
        self._items[mapping.instance_uuid] = (time.monotonic(), mapping)
        self._items.move_to_end(mapping.instance_uuid)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    async def invalidate(self, instance_uuid: str) -> None:
        self._items.pop(instance_uuid, None)


class SharedCache:
    """Mappings in the shared key-value store, each for `ttl` seconds."""

    PREFIX = "novamesh:instance-mapping:"

    def __init__(self, kv: KeyValue, ttl: float = 300.0) -> None:
        self._kv = kv
        self._ttl = ttl

    async def get(self, instance_uuid: str) -> Mapping | None:
        raw = await self._kv.get(self.PREFIX + instance_uuid)
        if raw is None:
            return None
        d = json.loads(raw)
        return Mapping(
            instance_uuid=d["instance_uuid"],
            cell_id=d["cell_id"],
            project_id=d["project_id"],
            user_id=d["user_id"],
            queued_for_delete=d["queued_for_delete"],
            created_at=dt.datetime.fromisoformat(d["created_at"]),
        )

    async def put(self, mapping: Mapping) -> None:
        raw = json.dumps(
            {
                "instance_uuid": mapping.instance_uuid,
                "cell_id": mapping.cell_id,
                "project_id": mapping.project_id,
                "user_id": mapping.user_id,
                "queued_for_delete": mapping.queued_for_delete,
                "created_at": mapping.created_at.isoformat(),
            }
        )
        await self._kv.set(self.PREFIX + mapping.instance_uuid, raw.encode(), self._ttl)

    async def invalidate(self, instance_uuid: str) -> None:
        await self._kv.delete(self.PREFIX + instance_uuid)


def make_cache(store: Store) -> MappingCache:
    """Shared when the store outlives the process (Redis), else a local LRU (faster)."""
    return SharedCache(store.kv) if store.durable else InProcessCache()


class Mappings:
    def __init__(self, api: ApiStore, cache: MappingCache) -> None:
        self._api = api
        self._cache = cache

    async def resolve(self, instance_uuid: str) -> Mapping | None:
        mapping = await self._cache.get(instance_uuid)
        if mapping is not None:
            return mapping
        mapping = await self._api.mapping(instance_uuid)
        if mapping is not None and mapping.cell_id is not None and not mapping.queued_for_delete:
            await self._cache.put(mapping)
        return mapping

    async def invalidate(self, instance_uuid: str) -> None:
        await self._cache.invalidate(instance_uuid)
