"""Rebuild: the instance takes a (new) image and the fields the request names, and its host
destroys and spawns the guest again. The allocation stays: same host, same flavor."""

from __future__ import annotations

from typing import Any

from novamesh.agent.v1 import agent_pb2
from novamesh.cells import convert
from novamesh.cells.core import Conflict, Core, NotFound
from novamesh.cells.db import instances as inst_db
from novamesh.cells.db import models
from novamesh.cells.moves import BadRequest, agent_spec
from novamesh.cells.registry import Cell
from novamesh.cells.v1 import actions_pb2, router_pb2
from novamesh.common import context
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

# update_mask name -> instance column (metadata is its own table).
_COLUMNS = {
    "name": "display_name",
    "description": "display_description",
    "hostname": "hostname",
    "key_name": "key_name",
    "key_data": "key_data",
    "user_data": "user_data",
    "access_ip_v4": "access_ip_v4",
    "access_ip_v6": "access_ip_v6",
}


class Rebuilds:
    def __init__(self, core: Core, command_timeout: float = 600.0) -> None:
        self._core = core
        self._timeout = command_timeout

    async def rebuild(self, req: actions_pb2.RebuildInstanceRequest) -> router_pb2.Instance:
        unknown = [f for f in req.update_mask if f not in _COLUMNS and f != "metadata"]
        if unknown:
            raise BadRequest(f"These fields cannot be rebuilt: {', '.join(unknown)}")
        _, cell = await self._core.locate(req.uuid)
        if cell is None:
            raise Conflict(f"Cannot 'rebuild' instance {req.uuid} while it is in vm_state building")
        ctx = context.current()

        async def cas(session: AsyncSession) -> tuple[str, bool]:
            row = await inst_db.get_plain(session, req.uuid)
            if row is None or row.deleted:
                raise NotFound(f"Instance {req.uuid} could not be found.")
            if not (row.host and self._core.hub.connected(row.host)):
                raise Conflict(
                    f"Cannot 'rebuild' instance {req.uuid}: its host "
                    f"{row.host or '(none)'} is not available."
                )
            values: dict[str, Any] = {
                _COLUMNS[f]: getattr(req.instance, f) or None
                for f in req.update_mask
                if f in _COLUMNS
            }
            values["image_ref"] = req.image.id
            if not await inst_db.compare_and_set(
                session,
                req.uuid,
                list(req.expected_vm_states),
                [""],
                task_state="rebuilding",
                **values,
            ):
                raise Conflict(
                    f"Cannot 'rebuild' instance {req.uuid} while it is in "
                    f"vm_state {row.vm_state} (task_state {row.task_state})"
                )
            await _set_image(session, req.uuid, convert.message_dict(req.image))
            if "metadata" in req.update_mask:
                await _set_metadata(session, req.uuid, dict(req.instance.metadata))
            await inst_db.start_action(
                session,
                req.uuid,
                "rebuild",
                req.request_id or (ctx.request_id if ctx else ""),
                ctx.user_id if ctx else "",
                ctx.project_id if ctx else row.project_id,
            )
            return row.host, row.vm_state != "stopped"

        async with self._core.lock(req.uuid):
            if req.uuid in self._core.deleting:
                raise Conflict(f"Cannot 'rebuild' instance {req.uuid} while it is deleting")
            host, power_on = await self._core.in_cell(cell, cas)
        found = await self._core.load(cell, req.uuid)
        if found is None:
            raise NotFound(f"Instance {req.uuid} could not be found.")
        spec = agent_spec(found, found.flavor, found.node or host)
        spec.admin_pass = req.admin_pass
        spec.user_data = found.user_data
        command = agent_pb2.AgentCommand(
            rebuild=agent_pb2.Rebuild(
                instance=spec, preserve_ephemeral=req.preserve_ephemeral, power_on=power_on
            )
        )
        self._core.spawn(self._send(cell, req.uuid, host, command), f"rebuild {req.uuid}")
        await self._core.publish(cell, req.uuid)
        return found

    async def _send(
        self, cell: Cell, uuid: str, host: str, command: agent_pb2.AgentCommand
    ) -> None:
        outcome = await self._core.hub.call(host, command, self._timeout)
        if outcome.ok:
            return

        async def failed(session: AsyncSession) -> None:
            row = await inst_db.get_plain(session, uuid)
            if row is not None and row.task_state and row.task_state.startswith("rebuild"):
                # The agent never got to report: the guest's state is unknown.
                await inst_db.update_fields(session, uuid, vm_state="error", task_state=None)
                await inst_db.add_fault(session, uuid, 500, outcome.error, host=host)

        await self._core.in_cell(cell, failed)
        await self._core.publish(cell, uuid)


async def _set_image(session: AsyncSession, uuid: str, image: dict[str, Any]) -> None:
    extra = await session.scalar(
        select(models.InstanceExtra).where(models.InstanceExtra.instance_uuid == uuid)
    )
    if extra is None:
        session.add(models.InstanceExtra(instance_uuid=uuid, image=image))
    else:
        extra.image = image


async def _set_metadata(session: AsyncSession, uuid: str, metadata: dict[str, str]) -> None:
    meta = models.InstanceMetadata
    await session.execute(delete(meta).where(meta.instance_uuid == uuid))
    for key, value in metadata.items():
        session.add(meta(instance_uuid=uuid, key=key, value=value))
    await session.flush()
