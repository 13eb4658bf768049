"""Traits (standard and CUSTOM_*) and the traits of each provider."""

from __future__ import annotations

import datetime as dt

from novamesh.placement import errors, standard
from novamesh.placement.objects.common import RPT, TRAIT, bump_generation, require_provider
from novamesh.placement.objects.store import Store, Writer
from sqlalchemy import delete, insert, select

_STANDARD = frozenset(standard.TRAITS)


async def list_names(
    store: Store, name_in: list[str] | None, prefix: str | None, associated: bool | None
) -> list[tuple[str, dt.datetime | None]]:
    q = select(TRAIT.c.name, TRAIT.c.updated_at, TRAIT.c.created_at).order_by(TRAIT.c.name)
    if name_in is not None:
        q = q.where(TRAIT.c.name.in_(name_in))
    if prefix is not None:
        q = q.where(TRAIT.c.name.startswith(prefix, autoescape=True))
    if associated is not None:
        used = select(RPT.c.trait_id).distinct()
        q = q.where(TRAIT.c.id.in_(used) if associated else TRAIT.c.id.not_in(used))
    async with store.read() as conn:
        return [(r[0], r[1] or r[2]) for r in await conn.execute(q)]


async def get(store: Store, name: str) -> dt.datetime | None:
    async with store.read() as conn:
        row = (
            await conn.execute(
                select(TRAIT.c.updated_at, TRAIT.c.created_at).where(TRAIT.c.name == name)
            )
        ).first()
    if row is None:
        raise errors.not_found(f"No such trait(s): {name}.")
    stamp: dt.datetime | None = row[0] or row[1]
    return stamp


async def ensure(store: Store, name: str) -> bool:
    """Create a custom trait; False when it already existed."""
    async with store.write() as w:
        if (await w.conn.execute(select(TRAIT.c.id).where(TRAIT.c.name == name))).first():
            return False
        await w.conn.execute(insert(TRAIT).values(name=name))
        return True


async def destroy(store: Store, name: str) -> None:
    async with store.write() as w:
        row = (await w.conn.execute(select(TRAIT.c.id).where(TRAIT.c.name == name))).first()
        if row is None:
            raise errors.not_found(f"No such trait(s): {name}.")
        if name in _STANDARD or not name.startswith("CUSTOM_"):
            raise errors.invalid(f"Cannot delete standard trait {name}.")
        used = (
            await w.conn.execute(select(RPT.c.trait_id).where(RPT.c.trait_id == row[0]))
        ).first()
        if used is not None:
            raise errors.conflict(f"The trait {name} is in use by a resource provider.")
        await w.conn.execute(delete(TRAIT).where(TRAIT.c.id == row[0]))


async def set_for_provider(
    store: Store, rp_uuid: str, generation: int | None, names: list[str]
) -> int:
    """Replace a provider's traits; returns the new generation."""
    async with store.write() as w:
        return await set_for_provider_in(w, rp_uuid, generation, names)


async def set_for_provider_in(
    w: Writer, rp_uuid: str, generation: int | None, names: list[str]
) -> int:
    row = await require_provider(w.conn, rp_uuid)
    wanted = sorted(set(names))
    ids: dict[str, int] = {}
    if wanted:
        found = await w.conn.execute(
            select(TRAIT.c.name, TRAIT.c.id).where(TRAIT.c.name.in_(wanted))
        )
        ids = {r[0]: r[1] for r in found}
        missing = [n for n in wanted if n not in ids]
        if missing:
            raise errors.invalid(f"No such trait {', '.join(missing)}")
    new_gen = await bump_generation(w, row.id, generation)
    current = set(
        (
            await w.conn.execute(select(RPT.c.trait_id).where(RPT.c.resource_provider_id == row.id))
        ).scalars()
    )
    target = set(ids.values())
    if current - target:
        await w.conn.execute(
            delete(RPT).where(
                RPT.c.resource_provider_id == row.id,
                RPT.c.trait_id.in_(sorted(current - target)),
            )
        )
    if target - current:
        await w.conn.execute(
            insert(RPT),
            [{"resource_provider_id": row.id, "trait_id": t} for t in sorted(target - current)],
        )
    return new_gen
