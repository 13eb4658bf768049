"""Edits of an instance's user-editable fields (PUT /servers/{id}, metadata, tags, lock).

An instance that has no cell yet is edited in its build request, so the edit survives the
landing: the conductor builds from what the build request says at that moment.
"""

from __future__ import annotations

from novamesh.cells import convert
from novamesh.cells.core import Core, NotFound
from novamesh.cells.db import instances as inst_db
from novamesh.cells.db import models
from novamesh.cells.db.queries import BadQuery
from novamesh.cells.v1 import router_pb2
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

# update_mask name -> instance column (None: a child table).
EDITABLE: dict[str, str | None] = {
    "name": "display_name",
    "hostname": "hostname",
    "description": "display_description",
    "access_ip_v4": "access_ip_v4",
    "access_ip_v6": "access_ip_v6",
    "locked": "locked",
    "locked_reason": "locked_reason",
    "metadata": None,
    "tags": None,
    "system_metadata": None,
}


class Edits:
    def __init__(self, core: Core) -> None:
        self._core = core

    async def update(self, req: router_pb2.UpdateInstanceRequest) -> router_pb2.Instance:
        unknown = [f for f in req.update_mask if f not in EDITABLE]
        if unknown:
            raise BadQuery(f"These fields cannot be updated: {', '.join(unknown)}")
        _, cell = await self._core.locate(req.uuid)
        if cell is None:
            updated = await self._update_pending(req)
            if updated is not None:
                return updated
            _, cell = await self._core.locate(req.uuid)
            if cell is None:
                raise NotFound(f"Instance {req.uuid} could not be found.")
        new = req.instance

        async def work(session: AsyncSession) -> None:
            row = await inst_db.get_plain(session, req.uuid)
            if row is None or row.deleted:
                raise NotFound(f"Instance {req.uuid} could not be found.")
            values: dict[str, object] = {}
            for name in req.update_mask:
                column = EDITABLE[name]
                if column is None:
                    continue
                value = getattr(new, name)
                values[column] = value if isinstance(value, bool) else (value or None)
            await inst_db.update_fields(session, req.uuid, **values)
            if "metadata" in req.update_mask:
                await session.execute(
                    delete(models.InstanceMetadata).where(
                        models.InstanceMetadata.instance_uuid == req.uuid
                    )
                )
                session.add_all(
                    models.InstanceMetadata(instance_uuid=req.uuid, key=k, value=v)
                    for k, v in new.metadata.items()
                )
            if "system_metadata" in req.update_mask:
                await _merge_system_metadata(session, req.uuid, dict(new.system_metadata))
            if "tags" in req.update_mask:
                gone = delete(models.Tag).where(models.Tag.instance_uuid == req.uuid)
                await session.execute(gone)
                session.add_all(
                    models.Tag(instance_uuid=req.uuid, tag=t) for t in dict.fromkeys(new.tags)
                )

        async with self._core.lock(req.uuid):
            await self._core.in_cell(cell, work)
        found = await self._core.load(cell, req.uuid)
        if found is None:
            raise NotFound(f"Instance {req.uuid} could not be found.")
        await self._core.publish(cell, req.uuid)
        return found

    async def _update_pending(
        self, req: router_pb2.UpdateInstanceRequest
    ) -> router_pb2.Instance | None:
        pending = await self._core.api.build_request(req.uuid)
        if pending is None:
            return None
        inst = router_pb2.Instance.FromString(pending.instance)
        tags = list(pending.tags)
        for name in req.update_mask:
            if name == "metadata":
                inst.metadata.clear()
                inst.metadata.update(req.instance.metadata)
            elif name == "system_metadata":
                inst.system_metadata.update(req.instance.system_metadata)
                for key, value in req.instance.system_metadata.items():
                    if not value:
                        del inst.system_metadata[key]
            elif name == "tags":
                del inst.tags[:]
                inst.tags.extend(req.instance.tags)
                tags = list(req.instance.tags)
            else:
                setattr(inst, name, getattr(req.instance, name))
        if not await self._core.api.update_build(req.uuid, inst.SerializeToString(), tags):
            return None
        return convert.pending_instance(inst.SerializeToString(), tags, pending.created_at)


async def _merge_system_metadata(session: AsyncSession, uuid: str, items: dict[str, str]) -> None:
    """Set the given keys; an empty value removes its key (e.g. clearing a guest password)."""
    table = models.InstanceSystemMetadata
    await session.execute(
        delete(table).where(table.instance_uuid == uuid, table.key.in_(list(items)))
    )
    session.add_all(table(instance_uuid=uuid, key=k, value=v) for k, v in items.items() if v)
