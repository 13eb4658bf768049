"""Writes to inventories, generation-checked, refusing to drop classes still allocated."""

from __future__ import annotations

from dataclasses import dataclass

from novamesh.placement import errors
from novamesh.placement.objects.common import (
    ALLOC,
    INV,
    RC,
    bump_generation,
    rc_ids,
    require_provider,
)
from novamesh.placement.objects.store import Store, Writer
from sqlalchemy import delete, func, insert, select, update

MAX_INT = 2147483647


@dataclass(frozen=True)
class InventorySpec:
    total: int
    reserved: int = 0
    min_unit: int = 1
    max_unit: int = MAX_INT
    step_size: int = 1
    allocation_ratio: float = 1.0

    def as_row(self) -> dict[str, object]:
        return {
            "total": self.total,
            "reserved": self.reserved,
            "min_unit": self.min_unit,
            "max_unit": self.max_unit,
            "step_size": self.step_size,
            "allocation_ratio": self.allocation_ratio,
        }


def check_capacity(
    rp_uuid: str, invs: dict[str, InventorySpec], reserved_can_be_total: bool
) -> str | None:
    """Upstream's message for the first inventory whose reserved is too large, else None."""
    for rc, inv in invs.items():
        if inv.reserved > inv.total or (inv.reserved == inv.total and not reserved_can_be_total):
            what = (
                "greater than total"
                if reserved_can_be_total
                else ("greater than or equal to total")
            )
            return (
                f"Invalid inventory for '{rc}' on resource provider '{rp_uuid}'. "
                f"The reserved value is {what}."
            )
    return None


async def _in_use(w: Writer, rp_id: int, rc_id_list: list[int]) -> list[str]:
    rows = await w.conn.execute(
        select(RC.c.name)
        .select_from(ALLOC.join(RC, RC.c.id == ALLOC.c.resource_class_id))
        .where(ALLOC.c.resource_provider_id == rp_id, ALLOC.c.resource_class_id.in_(rc_id_list))
        .group_by(RC.c.id, RC.c.name)
        .order_by(RC.c.id)
    )
    return [r[0] for r in rows]


def _in_use_message(classes: list[str], rp_uuid: str) -> str:
    return f"Inventory for '{', '.join(classes)}' on resource provider '{rp_uuid}' in use."


async def replace_all(
    store: Store,
    rp_uuid: str,
    generation: int | None,
    invs: dict[str, InventorySpec],
    in_use_prefix: str = "update conflict: ",
) -> int:
    """Replace the whole inventory; returns the new generation."""
    async with store.write() as w:
        return await replace_all_in(w, rp_uuid, generation, invs, in_use_prefix)


async def replace_all_in(
    w: Writer,
    rp_uuid: str,
    generation: int | None,
    invs: dict[str, InventorySpec],
    in_use_prefix: str = "update conflict: ",
    check_in_use: bool = True,
) -> int:
    if True:
        row = await require_provider(w.conn, rp_uuid)
        new_gen = await bump_generation(w, row.id, generation)
        ids = await rc_ids(w.conn, invs)
        current = {
            r[0]: r[1]
            for r in await w.conn.execute(
                select(INV.c.resource_class_id, INV.c.id).where(
                    INV.c.resource_provider_id == row.id
                )
            )
        }
        wanted = {ids[name]: spec for name, spec in invs.items()}
        gone = sorted(set(current) - set(wanted))
        if gone:
            busy = await _in_use(w, row.id, gone) if check_in_use else []
            if busy:
                raise errors.conflict(
                    in_use_prefix + _in_use_message(busy, rp_uuid), errors.INVENTORY_INUSE
                )
            await w.conn.execute(
                delete(INV).where(
                    INV.c.resource_provider_id == row.id, INV.c.resource_class_id.in_(gone)
                )
            )
        for rc_id, spec in wanted.items():
            if rc_id in current:
                await w.conn.execute(
                    update(INV).where(INV.c.id == current[rc_id]).values(**spec.as_row())
                )
            else:
                await w.conn.execute(
                    insert(INV).values(
                        resource_provider_id=row.id, resource_class_id=rc_id, **spec.as_row()
                    )
                )
        return new_gen


async def put_one(
    store: Store,
    rp_uuid: str,
    rc: str,
    generation: int | None,
    spec: InventorySpec,
    create: bool,
) -> int:
    """Create (`create`) or update one class's inventory; returns the new generation."""
    async with store.write() as w:
        row = await require_provider(w.conn, rp_uuid)
        ids = await rc_ids(w.conn, [rc])
        existing = (
            await w.conn.execute(
                select(INV.c.id).where(
                    INV.c.resource_provider_id == row.id, INV.c.resource_class_id == ids[rc]
                )
            )
        ).first()
        if create and existing is not None:
            raise errors.conflict(
                f"Update conflict: Inventory for {rc} on resource provider {rp_uuid} "
                "already exists.",
                errors.CONCURRENT_UPDATE,
            )
        if not create and existing is None:
            raise errors.invalid(
                f"No inventory record with resource class for resource provider {rp_uuid}: "
                f"No inventory of class {rc} found."
            )
        new_gen = await bump_generation(w, row.id, generation)
        if existing is None:
            await w.conn.execute(
                insert(INV).values(
                    resource_provider_id=row.id, resource_class_id=ids[rc], **spec.as_row()
                )
            )
        else:
            await w.conn.execute(update(INV).where(INV.c.id == existing[0]).values(**spec.as_row()))
        return new_gen


async def delete_one(store: Store, rp_uuid: str, rc: str) -> None:
    async with store.write() as w:
        row = await require_provider(w.conn, rp_uuid)
        rc_row = (await w.conn.execute(select(RC.c.id).where(RC.c.name == rc))).first()
        if rc_row is None:
            raise errors.not_found(
                f"No inventory of class {rc} found for delete: No such resource class {rc}."
            )
        busy = await _in_use(w, row.id, [rc_row[0]])
        if busy:
            raise errors.conflict(
                f"Unable to delete inventory of class {rc}: " + _in_use_message(busy, rp_uuid),
                errors.CONCURRENT_UPDATE,
            )
        res = await w.conn.execute(
            delete(INV).where(
                INV.c.resource_provider_id == row.id, INV.c.resource_class_id == rc_row[0]
            )
        )
        if res.rowcount == 0:
            raise errors.not_found(
                f"No inventory of class {rc} found for delete: "
                f"No inventory of class {rc} found for delete"
            )
        await bump_generation(w, row.id, None)


async def usage_of(store: Store, rp_id: int) -> dict[int, int]:
    async with store.read() as conn:
        rows = await conn.execute(
            select(ALLOC.c.resource_class_id, func.sum(ALLOC.c.used))
            .where(ALLOC.c.resource_provider_id == rp_id)
            .group_by(ALLOC.c.resource_class_id)
        )
        return {r[0]: int(r[1]) for r in rows}
