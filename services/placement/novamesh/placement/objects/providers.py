"""Writes to resource providers: create, update (rename, reparent), delete."""

from __future__ import annotations

import uuid as uuidlib

from novamesh.placement import errors
from novamesh.placement.objects.common import ALLOC, INV, RP, RPA, RPT, require_provider
from novamesh.placement.objects.store import Store, Writer
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection


def _action_error(action: str, reason: str) -> str:
    return f"Object action {action} failed because: {reason}"


async def create(store: Store, name: str, uuid: str | None, parent_uuid: str | None) -> str:
    """Create a provider; returns its uuid. Raises with upstream's messages on conflicts."""
    try:
        async with store.write() as w:
            return await create_in(w, name, uuid, parent_uuid)
    except IntegrityError as exc:
        raise errors.conflict(
            f"Conflicting resource provider {name} already exists.", errors.DUPLICATE_NAME
        ) from exc


async def create_in(w: Writer, name: str, uuid: str | None, parent_uuid: str | None) -> str:
    rp_uuid = str(uuidlib.UUID(uuid)) if uuid else str(uuidlib.uuid4())
    dup = []
    if (await w.conn.execute(select(RP.c.id).where(RP.c.uuid == rp_uuid))).first():
        dup.append(f"uuid: {rp_uuid}")
    if (await w.conn.execute(select(RP.c.id).where(RP.c.name == name))).first():
        dup.append(f"name: {name}")
    if dup:
        raise errors.conflict(
            f"Conflicting resource provider {', '.join(dup)} already exists.",
            errors.DUPLICATE_NAME,
        )
    parent_id = root_id = None
    if parent_uuid is not None:
        if parent_uuid == rp_uuid:
            raise errors.invalid(
                f'Unable to create resource provider "{name}", {rp_uuid}: '
                + _action_error(
                    "create",
                    "parent provider UUID cannot be same as UUID. Please set parent "
                    "provider UUID to None if there is no parent.",
                )
            )
        prow = (await w.conn.execute(select(RP).where(RP.c.uuid == parent_uuid))).first()
        if prow is None:
            raise errors.invalid(
                f'Unable to create resource provider "{name}", {rp_uuid}: '
                + _action_error("create", "parent provider UUID does not exist.")
            )
        parent_id, root_id = prow.id, prow.root_provider_id
    res = await w.conn.execute(
        insert(RP).values(
            uuid=rp_uuid,
            name=name,
            generation=0,
            parent_provider_id=parent_id,
            root_provider_id=root_id,
            revision=w.seq,
        )
    )
    new_id = res.inserted_primary_key[0] if res.inserted_primary_key else None
    if root_id is None:
        await w.conn.execute(update(RP).where(RP.c.id == new_id).values(root_provider_id=new_id))
    return rp_uuid


async def update_provider(
    store: Store,
    uuid: str,
    name: str | None,
    parent_uuid: str | None,
    set_parent: bool,
    allow_reparenting: bool,
) -> None:
    try:
        async with store.write() as w:
            row = await require_provider(w.conn, uuid)
            values: dict[str, object] = {"revision": w.seq}
            if name is not None and name != row.name:
                other = (
                    await w.conn.execute(
                        select(RP.c.id).where(RP.c.name == name, RP.c.id != row.id)
                    )
                ).first()
                if other:
                    raise errors.conflict(
                        f"Conflicting resource provider {name} already exists.",
                        errors.DUPLICATE_NAME,
                    )
                values["name"] = name
            subtree: list[int] = []
            new_root: int | None = None
            if set_parent:
                fail = f"Unable to save resource provider {uuid}: "
                if parent_uuid is not None:
                    prow = (
                        await w.conn.execute(select(RP).where(RP.c.uuid == parent_uuid))
                    ).first()
                    if prow is None:
                        raise errors.invalid(
                            fail + _action_error("create", "parent provider UUID does not exist.")
                        )
                    if (
                        row.parent_provider_id is not None
                        and row.parent_provider_id != prow.id
                        and not allow_reparenting
                    ):
                        raise errors.invalid(
                            fail
                            + _action_error(
                                "update", "re-parenting a provider is not currently allowed."
                            )
                        )
                    subtree = await _subtree(w.conn, row.id)
                    if prow.id in subtree:
                        raise errors.invalid(
                            fail
                            + _action_error(
                                "update", "creating loop in the provider tree is not allowed."
                            )
                        )
                    values["parent_provider_id"] = prow.id
                    new_root = prow.root_provider_id
                elif row.parent_provider_id is not None:
                    if not allow_reparenting:
                        raise errors.invalid(
                            fail
                            + _action_error(
                                "update", "un-parenting a provider is not currently allowed."
                            )
                        )
                    subtree = await _subtree(w.conn, row.id)
                    values["parent_provider_id"] = None
                    new_root = row.id
            await w.conn.execute(update(RP).where(RP.c.id == row.id).values(**values))
            if new_root is not None and subtree:
                await w.conn.execute(
                    update(RP)
                    .where(RP.c.id.in_(subtree))
                    .values(root_provider_id=new_root, revision=w.seq)
                )
    except IntegrityError as exc:
        raise errors.conflict(
            f"Conflicting resource provider {name} already exists.", errors.DUPLICATE_NAME
        ) from exc


async def _subtree(conn: AsyncConnection, rp_id: int) -> list[int]:
    """`rp_id` and all its descendants."""

    out = [rp_id]
    frontier = [rp_id]
    while frontier:
        rows = await conn.execute(select(RP.c.id).where(RP.c.parent_provider_id.in_(frontier)))
        frontier = [r[0] for r in rows]
        out.extend(frontier)
    return out


async def delete_provider(store: Store, uuid: str) -> None:
    async with store.write() as w:
        row = (await w.conn.execute(select(RP).where(RP.c.uuid == uuid))).first()
        if row is None:
            raise errors.not_found(f"No resource provider with uuid {uuid} found for delete")
        child = (
            await w.conn.execute(select(RP.c.id).where(RP.c.parent_provider_id == row.id))
        ).first()
        if child is not None:
            raise errors.conflict(
                f"Unable to delete parent resource provider {uuid}: It has child resource "
                "providers.",
                errors.PROVIDER_CANNOT_DELETE_PARENT,
            )
        used = (
            await w.conn.execute(select(ALLOC.c.id).where(ALLOC.c.resource_provider_id == row.id))
        ).first()
        if used is not None:
            raise errors.conflict(
                f"Unable to delete resource provider {uuid}: Resource provider has allocations.",
                errors.PROVIDER_IN_USE,
            )
        await w.conn.execute(delete(INV).where(INV.c.resource_provider_id == row.id))
        await w.conn.execute(delete(RPA).where(RPA.c.resource_provider_id == row.id))
        await w.conn.execute(delete(RPT).where(RPT.c.resource_provider_id == row.id))
        await w.conn.execute(update(RP).where(RP.c.id == row.id).values(root_provider_id=None))
        await w.conn.execute(delete(RP).where(RP.c.id == row.id))
