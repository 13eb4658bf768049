"""Aggregates from the API database, re-read periodically into the host-state view.

Aggregates change rarely and only through the API, so a cached copy refreshed every
`aggregate_refresh_interval` seconds keeps database reads off the scheduling path.
"""

from __future__ import annotations

import asyncio
import logging

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
    ) -> None:
        self._factory = factory
        self._store = store
        self._interval = interval
        self.loaded = asyncio.Event()

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
            await asyncio.sleep(self._interval)
