"""Resource classes: the standard set plus CUSTOM_* ones."""

from __future__ import annotations

import datetime as dt

from novamesh.placement import errors, standard
from novamesh.placement.objects.common import ALLOC, INV, RC
from novamesh.placement.objects.store import Store
from sqlalchemy import delete, insert, select, update

_STANDARD = frozenset(standard.RESOURCE_CLASSES)


def is_standard(name: str) -> bool:
    return name in _STANDARD


async def list_all(store: Store) -> list[tuple[str, dt.datetime | None]]:
    async with store.read() as conn:
        rows = await conn.execute(
            select(RC.c.name, RC.c.updated_at, RC.c.created_at).order_by(RC.c.id)
        )
        return [(r[0], r[1] or r[2]) for r in rows]


async def get(store: Store, name: str) -> dt.datetime | None:
    async with store.read() as conn:
        row = (
            await conn.execute(select(RC.c.updated_at, RC.c.created_at).where(RC.c.name == name))
        ).first()
    if row is None:
        raise errors.not_found(f"No such resource class {name}.")
    stamp: dt.datetime | None = row[0] or row[1]
    return stamp


async def create(store: Store, name: str) -> None:
    async with store.write() as w:
        if (await w.conn.execute(select(RC.c.id).where(RC.c.name == name))).first():
            raise errors.conflict(f"Conflicting resource class already exists: {name}")
        await w.conn.execute(insert(RC).values(name=name))


async def ensure(store: Store, name: str) -> bool:
    """Create if missing; False when it already existed (PUT from 1.7)."""
    async with store.write() as w:
        if (await w.conn.execute(select(RC.c.id).where(RC.c.name == name))).first():
            return False
        await w.conn.execute(insert(RC).values(name=name))
        return True


async def rename(store: Store, name: str, new_name: str) -> None:
    async with store.write() as w:
        row = (await w.conn.execute(select(RC.c.id).where(RC.c.name == name))).first()
        if row is None:
            raise errors.not_found(f"No such resource class {name}.")
        if is_standard(name):
            raise errors.invalid(f"Cannot update standard resource class {name}")
        if (await w.conn.execute(select(RC.c.id).where(RC.c.name == new_name))).first():
            raise errors.conflict(f"Resource class already exists: {new_name}")
        await w.conn.execute(update(RC).where(RC.c.id == row[0]).values(name=new_name))


async def destroy(store: Store, name: str) -> None:
    async with store.write() as w:
        row = (await w.conn.execute(select(RC.c.id).where(RC.c.name == name))).first()
        if row is None:
            raise errors.not_found(f"No such resource class {name}.")
        if is_standard(name):
            raise errors.invalid(
                f"Error in delete resource class: Cannot delete standard resource class {name}."
            )
        in_inv = (
            await w.conn.execute(select(INV.c.id).where(INV.c.resource_class_id == row[0]))
        ).first()
        in_alloc = (
            await w.conn.execute(select(ALLOC.c.id).where(ALLOC.c.resource_class_id == row[0]))
        ).first()
        if in_inv is not None or in_alloc is not None:
            raise errors.conflict(
                f"Error in delete resource class: Cannot delete resource class {name}. "
                "Class is in use in inventory."
            )
        await w.conn.execute(delete(RC).where(RC.c.id == row[0]))
