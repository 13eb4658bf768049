"""Aggregates from the API database, re-read periodically into the host-state view.

Aggregates change rarely and only through the API, so a cached copy refreshed every
`aggregate_refresh_interval` seconds (2 by default: an API change reaches scheduling about that
fast) keeps database reads off the scheduling path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from novamesh.common.apidb import models
from novamesh.scheduler.aggregates import Aggregate
from novamesh.scheduler.host_state import HostStateStore
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

LOG = logging.getLogger(__name__)


class AggregateSource:
    def __init__(
        self,
        factory: async_sessionmaker[AsyncSession],
        store: HostStateStore,
        interval: float,
        on_refresh: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._factory = factory
        self._store = store
        self._interval = interval
        self.loaded = asyncio.Event()
        # Runs after every refresh (the placement mirror); its failures do not stop refreshing.
        self._on_refresh = on_refresh

    async def load(self) -> list[Aggregate]:
        async with self._factory() as session:
            rows = (await session.scalars(select(models.Aggregate))).all()
            return [
                Aggregate(
                    uuid=row.uuid,
                    name=row.name,
                    hosts=frozenset(h.host for h in row.hosts),
                    metadata={m.key: m.value for m in row.metadata_items},
                )
                for row in rows
            ]

    async def refresh(self) -> None:
        self._store.set_aggregates(await self.load())
        self.loaded.set()

    async def run(self) -> None:
        while True:
            try:
                await self.refresh()
            except SQLAlchemyError as exc:
                # No API database yet (or it is down): filters see no aggregates meanwhile.
                LOG.warning("cannot read aggregates: %s", exc.__class__.__name__)
            else:
                if self._on_refresh is not None:
                    try:
                        await self._on_refresh()
                    except Exception:
                        LOG.exception("after-refresh hook failed")
            await asyncio.sleep(self._interval)
