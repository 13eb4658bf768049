"""Actions that run on the instance's host as one command (rescue, unrescue, changePassword,
trigger_crash_dump), record-only ones (resetState), and reads from the host (console log).

Like the power actions: the router moves the instance to the action's task state with a
compare-and-swap on the states the gateway checked, records the instance action, then sends
the command; the agent reports the transitions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from novamesh.agent.v1 import agent_pb2
from novamesh.cells.core import Conflict, Core, NotFound
from novamesh.cells.db import instances as inst_db
from novamesh.cells.db import models
from novamesh.cells.registry import Cell
from novamesh.cells.v1 import router_pb2
from novamesh.common import context
from novamesh.common.db import utcnow
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

# Nova's instance-action event for the commands whose agent reports no state change.
_QUIET_EVENTS = {"trigger_crash_dump": "compute_trigger_crash_dump"}


def _command(req: router_pb2.InstanceActionRequest) -> agent_pb2.AgentCommand | None:
    uuid, p = req.uuid, req.params
    match req.action:
        case "rescue":
            return agent_pb2.AgentCommand(
                rescue=agent_pb2.Rescue(
                    instance_uuid=uuid,
                    image_id=p.get("rescue_image_ref", ""),
                    admin_pass=p.get("admin_pass", ""),
                )
            )
        case "unrescue":
            return agent_pb2.AgentCommand(unrescue=agent_pb2.Unrescue(instance_uuid=uuid))
        case "changePassword":
            return agent_pb2.AgentCommand(
                set_admin_password=agent_pb2.SetAdminPassword(
                    instance_uuid=uuid, password=p.get("admin_pass", "")
                )
            )
        case "trigger_crash_dump":
            return agent_pb2.AgentCommand(
                trigger_crash_dump=agent_pb2.TriggerCrashDump(instance_uuid=uuid)
            )
        case "createImage" | "createBackup":
            return agent_pb2.AgentCommand(
                snapshot=agent_pb2.Snapshot(
                    instance_uuid=uuid,
                    image_id=p.get("image_id", ""),
                    image_type="backup" if req.action == "createBackup" else "snapshot",
                )
            )
        case "softDelete" | "restore":
            kind = agent_pb2.PowerAction.KIND_STOP
            if req.action == "restore":
                kind = agent_pb2.PowerAction.KIND_START
            return agent_pb2.AgentCommand(
                power=agent_pb2.PowerAction(instance_uuid=uuid, kind=kind)
            )
    return None


# What the instance action is called when it differs from the request's action.
_RECORDED_AS = {"softDelete": "delete"}
# Events the router records itself when the agent's command succeeded.
_DONE_EVENTS = {"softDelete": "compute_soft_delete_instance", "restore": "compute_restore_instance"}

AGENT_ACTIONS = {
    "rescue",
    "unrescue",
    "changePassword",
    "trigger_crash_dump",
    "softDelete",
    "restore",
    "createImage",
    "createBackup",
}
RECORD_ACTIONS = {"resetState"}
ACTIONS = AGENT_ACTIONS | RECORD_ACTIONS


class GuestActions:
    def __init__(self, core: Core, command_timeout: float = 120.0) -> None:
        self._core = core
        self._timeout = command_timeout

    async def action(self, req: router_pb2.InstanceActionRequest) -> router_pb2.Instance:
        _, cell = await self._core.locate(req.uuid)
        if cell is None:
            raise Conflict(
                f"Cannot '{req.action}' instance {req.uuid} while it is in vm_state building"
            )
        command = _command(req)
        ctx = context.current()

        async def cas(session: AsyncSession) -> str | None:
            row = await inst_db.get_plain(session, req.uuid)
            if row is None or row.deleted:
                raise NotFound(f"Instance {req.uuid} could not be found.")
            values: dict[str, Any] = {}
            if req.task_state:
                values["task_state"] = req.task_state
            if req.action == "resetState":
                values.update(vm_state=req.params.get("state", "error"), task_state=None)
            if command is not None and not (row.host and self._core.hub.connected(row.host)):
                raise Conflict(
                    f"Cannot '{req.action}' instance {req.uuid}: its host "
                    f"{row.host or '(none)'} is not available."
                )
            if not await inst_db.compare_and_set(
                session,
                req.uuid,
                list(req.expected_vm_states),
                list(req.expected_task_states),
                **values,
            ):
                raise Conflict(
                    f"Cannot '{req.action}' instance {req.uuid} while it is in "
                    f"vm_state {row.vm_state} (task_state {row.task_state})"
                )
            await inst_db.start_action(
                session,
                req.uuid,
                _RECORDED_AS.get(req.action, req.action),
                req.request_id or (ctx.request_id if ctx else ""),
                ctx.user_id if ctx else "",
                ctx.project_id if ctx else row.project_id,
            )
            return row.host

        async with self._core.lock(req.uuid):
            if req.uuid in self._core.deleting:
                raise Conflict(f"Cannot '{req.action}' instance {req.uuid} while it is deleting")
            host = await self._core.in_cell(cell, cas)
        if command is not None and host:
            self._core.spawn(self._send(cell, req, host, command), f"{req.action} {req.uuid}")
        found = await self._core.load(cell, req.uuid)
        if found is None:
            raise NotFound(f"Instance {req.uuid} could not be found.")
        await self._core.publish(cell, req.uuid)
        return found

    async def _send(
        self,
        cell: Cell,
        req: router_pb2.InstanceActionRequest,
        host: str,
        command: agent_pb2.AgentCommand,
    ) -> None:
        outcome = await self._core.hub.call(host, command, self._timeout)
        quiet_event = _QUIET_EVENTS.get(req.action) or _DONE_EVENTS.get(req.action)
        if outcome.ok and quiet_event is None:
            return

        async def record(session: AsyncSession) -> None:
            if outcome.ok and req.action == "softDelete":
                # The guest is off (the agent said stopped); the record says soft-deleted.
                await inst_db.update_fields(
                    session, req.uuid, vm_state="soft-delete", task_state=None
                )
            if not outcome.ok:
                row = await inst_db.get_plain(session, req.uuid)
                if row is not None and req.task_state and row.task_state == req.task_state:
                    # The agent never got to report: only the task is over.
                    await inst_db.update_fields(session, req.uuid, task_state=None)
            event = quiet_event or f"compute_{req.action}"
            if quiet_event or not outcome.ok:
                await inst_db.record_event(
                    session,
                    req.uuid,
                    event,
                    "Success" if outcome.ok else "Error",
                    host,
                    outcome.error,
                    _RECORDED_AS.get(req.action, req.action),
                )

        await self._core.in_cell(cell, record)
        await self._core.publish(cell, req.uuid)

    async def reclaim_due(self, cell: Cell, interval: float, delete: Any) -> int:
        """Delete for good the soft-deleted instances older than `interval` seconds."""
        cutoff = utcnow() - dt.timedelta(seconds=interval)

        async def due(session: AsyncSession) -> list[str]:
            rows = await session.scalars(
                select(models.Instance.uuid).where(
                    models.Instance.vm_state == "soft-delete",
                    models.Instance.deleted.is_(False),
                    models.Instance.updated_at < cutoff,
                )
            )
            return list(rows.all())

        uuids: list[str] = await self._core.in_cell(cell, due)
        for uuid in uuids:
            await delete(uuid, "")
        return len(uuids)

    async def console_output(self, uuid: str, length: int) -> str:
        _, cell = await self._core.locate(uuid)
        found = await self._core.load(cell, uuid) if cell is not None else None
        if found is None or found.deleted:
            raise NotFound(f"Instance {uuid} could not be found.")
        if found.vm_state not in ("active", "rescued", "paused", "stopped", "suspended"):
            raise Conflict(f"Instance {uuid} is not ready")
        if not (found.host and self._core.hub.connected(found.host)):
            raise Conflict(f"Instance {uuid} is not ready: its host is not available.")
        outcome = await self._core.hub.call(
            found.host,
            agent_pb2.AgentCommand(
                get_console_output=agent_pb2.GetConsoleOutput(instance_uuid=uuid, length=length)
            ),
            self._timeout,
        )
        if not outcome.ok:
            if "does not support" in outcome.error:
                raise NotImplementedError(
                    "Unable to get console log, functionality not implemented"
                )
            raise Conflict(f"Unable to get the console log of instance {uuid}: {outcome.error}")
        return outcome.data.get("output", "")
