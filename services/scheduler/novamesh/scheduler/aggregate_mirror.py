"""Mirror host aggregates into placement: each compute node's resource provider carries the
uuids of its host's aggregates, which is what the member_of pre-filters (availability zones,
tenant isolation) and `member_of` requests rely on.

The scheduler does this because it is the service that already holds both halves: the
aggregates (re-read from the API database every few seconds) and, per host, the compute node
uuids (from the host-state feed). Reconciling after every refresh also covers hosts that
register after they were added to an aggregate. Aggregates set on a provider by others (e.g.
through the Placement API) are kept: only uuids of host aggregates this process has seen are
added or removed. Setting is idempotent, so several scheduler replicas may all do it.
"""

from __future__ import annotations

import logging
from typing import Protocol

from novamesh.scheduler.host_state import HostStateStore
from novamesh.scheduler.placement import PlacementUnavailable

LOG = logging.getLogger(__name__)


class ProviderAggregates(Protocol):
    async def get(self, provider_uuid: str) -> tuple[int, set[str]] | None:
        """(generation, aggregate uuids), or None when the provider does not exist (yet)."""
        ...

    async def put(self, provider_uuid: str, generation: int, aggregates: set[str]) -> bool:
        """False on a generation conflict (the caller re-reads and retries)."""
        ...


class AggregateMirror:
    def __init__(self, store: HostStateStore, placement: ProviderAggregates) -> None:
        self._store = store
        self._placement = placement
        # What each provider was last given, so an unchanged host costs no placement call.
        self._mirrored: dict[str, frozenset[str]] = {}
        self._known: set[str] = set()

    async def sync(self) -> int:
        """Bring every known provider in line; returns how many were changed."""
        self._known.update(a.uuid for a in self._store.aggregates)
        changed = 0
        for state in list(self._store):
            wanted = frozenset(a.uuid for a in state.aggregates)
            if self._mirrored.get(state.uuid) == wanted:
                continue
            try:
                if await self._apply(state.uuid, wanted):
                    changed += 1
            except PlacementUnavailable as exc:
                LOG.warning("cannot mirror aggregates to placement: %s", exc)
                return changed
        return changed

    async def _apply(self, provider: str, wanted: frozenset[str]) -> bool:
        for _ in range(3):
            current = await self._placement.get(provider)
            if current is None:
                return False  # not in placement yet; the next round tries again
            generation, aggregates = current
            target = (aggregates - self._known) | wanted
            if target == aggregates:
                self._mirrored[provider] = wanted
                return False
            if await self._placement.put(provider, generation, target):
                self._mirrored[provider] = wanted
                return True
        return False
