"""Lookups and generation bumps shared by the write paths."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from novamesh.placement import errors
from novamesh.placement.db import models
from novamesh.placement.objects.store import Writer
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

RP = cast(Table, models.ResourceProvider.__table__)
RC = cast(Table, models.ResourceClass.__table__)
TRAIT = cast(Table, models.Trait.__table__)
INV = cast(Table, models.Inventory.__table__)
ALLOC = cast(Table, models.Allocation.__table__)
AGG = cast(Table, models.PlacementAggregate.__table__)
RPA = cast(Table, models.ResourceProviderAggregate.__table__)
RPT = cast(Table, models.ResourceProviderTrait.__table__)
CONSUMER = cast(Table, models.Consumer.__table__)


async def provider_row(conn: AsyncConnection, uuid: str) -> Any:
    return (await conn.execute(select(RP).where(RP.c.uuid == uuid))).first()


async def require_provider(conn: AsyncConnection, uuid: str) -> Any:
    row = await provider_row(conn, uuid)
    if row is None:
        raise errors.not_found(
            f"No resource provider with uuid {uuid} found",
            errors.RESOURCE_PROVIDER_NOT_FOUND,
        )
    return row


async def rc_ids(conn: AsyncConnection, names: Iterable[str]) -> dict[str, int]:
    """Resource class ids by name; NOT_FOUND naming the first unknown class."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    rows = await conn.execute(select(RC.c.name, RC.c.id).where(RC.c.name.in_(wanted)))
    found = {r[0]: r[1] for r in rows}
    for name in wanted:
        if name not in found:
            raise errors.not_found(f"No such resource class {name}.")
    return found


async def trait_ids(conn: AsyncConnection, names: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(names))
    if not wanted:
        return {}
    rows = await conn.execute(select(TRAIT.c.name, TRAIT.c.id).where(TRAIT.c.name.in_(wanted)))
    found = {r[0]: r[1] for r in rows}
    missing = [n for n in wanted if n not in found]
    if missing:
        raise errors.invalid(f"No such trait(s): {', '.join(missing)}.")
    return found


async def bump_generation(w: Writer, rp_id: int, seen: int | None) -> int:
    """Increment a provider's generation if it still is `seen` (None: whatever it is)."""
    q = update(RP).where(RP.c.id == rp_id).values(generation=RP.c.generation + 1)
    if seen is not None:
        q = q.where(RP.c.generation == seen)
    res = await w.conn.execute(q)
    if res.rowcount != 1:
        raise errors.conflict(
            "resource provider generation conflict: Resource provider's generation already "
            "changed. Please update the generation and try again.",
            errors.CONCURRENT_UPDATE,
        )
    w.touch(rp_id)
    gen = (await w.conn.execute(select(RP.c.generation).where(RP.c.id == rp_id))).scalar_one()
    return int(gen)
