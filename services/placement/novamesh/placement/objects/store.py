"""The placement database handle: serialised write transactions and a cached read view.

Writers: `async with store.write() as w:` opens a transaction whose first statement bumps
`placement_state.seq`; that row lock serialises every writer, so the generation and capacity
checks made inside are race-free on SQLite and PostgreSQL alike. `w.touch(rp_id)` marks a
provider whose inventory, usage, traits or aggregates changed, so readers reload it.

Readers: `await store.view()` returns an immutable `Snapshot` of every provider, refreshed
only when `seq` moved since the last look (one tiny query per read otherwise).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

from novamesh.placement import standard
from novamesh.placement.db import models
from novamesh.placement.objects import snapshot as snap
from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

STATE = cast(Table, models.PlacementState.__table__)
RP = cast(Table, models.ResourceProvider.__table__)
RC = cast(Table, models.ResourceClass.__table__)
TRAIT = cast(Table, models.Trait.__table__)


class Writer:
    """One write transaction: its connection, its sequence number, the providers it touched."""

    def __init__(self, conn: AsyncConnection, seq: int) -> None:
        self.conn = conn
        self.seq = seq
        self.touched: set[int] = set()

    def touch(self, *rp_ids: int) -> None:
        self.touched.update(rp_ids)


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._view = snap.Snapshot.empty()
        self._lock = asyncio.Lock()

    async def bootstrap(self) -> None:
        """Make sure the state row and the standard classes and traits exist."""
        async with self.engine.begin() as conn:
            if (await conn.execute(select(STATE.c.id))).first() is None:
                await conn.execute(insert(STATE).values(id=1, seq=0))
            have = set((await conn.execute(select(RC.c.name))).scalars())
            missing = [{"name": n} for n in standard.RESOURCE_CLASSES if n not in have]
            if missing:
                await conn.execute(insert(RC), missing)
            have = set((await conn.execute(select(TRAIT.c.name))).scalars())
            missing = [{"name": n} for n in standard.TRAITS if n not in have]
            if missing:
                await conn.execute(insert(TRAIT), missing)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Writer]:
        async with self.engine.begin() as conn:
            await conn.execute(update(STATE).values(seq=STATE.c.seq + 1))
            seq = (await conn.execute(select(STATE.c.seq))).scalar_one()
            w = Writer(conn, seq)
            yield w
            if w.touched:
                ids = sorted(w.touched)
                for i in range(0, len(ids), 500):
                    await conn.execute(
                        update(RP).where(RP.c.id.in_(ids[i : i + 500])).values(revision=seq)
                    )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def view(self) -> snap.Snapshot:
        async with self.engine.connect() as conn:
            seq = (await conn.execute(select(STATE.c.seq))).scalar_one()
            if seq == self._view.seq:
                return self._view
            async with self._lock:
                if seq != self._view.seq:
                    self._view = await snap.refresh(conn, self._view, seq)
            return self._view
