"""os-server-external-events acted on, as Nova's compute API and compute manager do.

The API accepted each event (its instance has a host). Here, as in Nova's compute API, a
power-update starts a `start` or `stop` instance action and a volume-extended an
`extend_volume` one; then the host does the work:

* power-update: only from the state the event is about (POWER_ON from stopped, shut down and
  no task; POWER_OFF from active, running and no task), else a no-op whose
  compute_power_update event still succeeds, as Nova's. The agent moves the guest's power and
  reports the transitions.
* volume-extended: the attachment's block device mapping takes the volume's new size, and the
  agent grows the attached disk (compute_extend_volume). A volume not attached to the
  instance is a logged no-op, as Nova's.
* network-vif-deleted: the port named by the tag is detached from the guest and leaves the
  network info cache; an unknown port is ignored.
* network-changed: the mesh's network info cache is written by the host whenever a port is
  plugged or unplugged, so there is nothing newer to read; logged.
* network-vif-plugged, network-vif-unplugged, accelerator-request-bound, volume-reimaged:
  Nova's compute hands these to an operation waiting for them; nothing in the mesh waits
  (its drivers plug ports and attach volumes themselves and there is no accelerator
  service), so they are logged, as Nova logs an event nobody waits for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from novamesh.agent.v1 import agent_pb2, host_events_pb2
from novamesh.cells.core import Conflict, Core, NotFound
from novamesh.cells.db import instances as inst_db
from novamesh.cells.db import models
from novamesh.cells.devices import Devices, DriverLacks
from novamesh.cells.registry import Cell
from novamesh.cells.v1 import server_devices_pb2 as sd
from novamesh.common import context
from novamesh.common.db import utcnow
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

LOG = logging.getLogger(__name__)

POWER_UPDATE_EVENT = "compute_power_update"
EXTEND_VOLUME_EVENT = "compute_extend_volume"
# Nova's power states (nova.compute.power_state).
_RUNNING, _SHUTDOWN = 1, 4
_POWER_ACTIONS = {"POWER_ON": "start", "POWER_OFF": "stop"}
_WAITED_FOR = frozenset(
    {
        "network-vif-plugged",
        "network-vif-unplugged",
        "accelerator-request-bound",
        "volume-reimaged",
    }
)


@dataclass(frozen=True)
class ExternalEvent:
    server_uuid: str
    name: str
    status: str = "completed"
    tag: str = ""
    # volume-extended: the volume's size now, as the volume service records it.
    volume_size_gb: int = 0


def power_update_applies(vm_state: str | None, task: str | None, power: int, tag: str) -> bool:
    """Nova's _is_state_valid_for_power_update_event."""
    if task:
        return False
    if tag == "POWER_ON":
        return vm_state == "stopped" and power == _SHUTDOWN
    return tag == "POWER_OFF" and vm_state == "active" and power == _RUNNING


class ServerEvents:
    def __init__(self, core: Core, devices: Devices, timeout: float = 60.0) -> None:
        self._core = core
        self._devices = devices
        self._timeout = timeout

    async def deliver(self, events: list[ExternalEvent], request_id: str) -> None:
        for event in events:
            try:
                await self._one(event, request_id)
            except (NotFound, Conflict) as exc:
                LOG.info("event %s:%s for %s: %s", event.name, event.tag, event.server_uuid, exc)

    async def _one(self, event: ExternalEvent, request_id: str) -> None:
        if event.name == "power-update":
            await self._power_update(event, request_id)
        elif event.name == "volume-extended":
            await self._volume_extended(event, request_id)
        elif event.name == "network-vif-deleted":
            self._core.spawn(self._vif_deleted(event), f"network-vif-deleted {event.server_uuid}")
        else:
            level = logging.INFO if event.name == "network-changed" else logging.WARNING
            why = "nothing waits for it" if event.name in _WAITED_FOR else "no refresh needed"
            LOG.log(
                level,
                "event %s:%s for instance %s: %s",
                event.name,
                event.tag,
                event.server_uuid,
                why,
            )

    async def _instance(self, uuid: str) -> tuple[Cell, models.Instance]:
        _, cell = await self._core.locate(uuid)
        if cell is None:
            raise NotFound(f"Instance {uuid} has no cell yet")

        async def work(session: AsyncSession) -> models.Instance | None:
            return await inst_db.get_plain(session, uuid)

        row: models.Instance | None = await self._core.in_cell(cell, work)
        if row is None or row.deleted or not row.host:
            raise NotFound(f"Instance {uuid} could not be found on a host.")
        return cell, row

    async def _start_action(self, cell: Cell, uuid: str, action: str, request_id: str) -> int:
        ctx = context.current()

        async def work(session: AsyncSession) -> int:
            row = await inst_db.start_action(
                session,
                uuid,
                action,
                request_id or (ctx.request_id if ctx else ""),
                ctx.user_id if ctx else "",
                ctx.project_id if ctx else "",
            )
            return row.id

        action_id: int = await self._core.in_cell(cell, work)
        return action_id

    async def _finish(
        self, cell: Cell, uuid: str, action_id: int, event: str, host: str, error: str = ""
    ) -> None:
        """The compute event of the action this event started (several events of one request
        may each have started one, so the action is named by its row)."""

        async def work(session: AsyncSession) -> None:
            now = utcnow()
            session.add(
                models.InstanceActionEvent(
                    action_id=action_id,
                    event=event,
                    start_time=now,
                    finish_time=now,
                    result="Error" if error else "Success",
                    host=host or None,
                    details=error or None,
                )
            )
            action = await session.get(models.InstanceAction, action_id)
            if action is not None:
                action.finish_time = now
                if error:
                    action.message = "Error"
            if error:
                await inst_db.add_fault(session, uuid, 500, error, host=host)

        await self._core.in_cell(cell, work)
        await self._core.publish(cell, uuid)

    # ---- power-update ---------------------------------------------------------------------

    async def _power_update(self, event: ExternalEvent, request_id: str) -> None:
        action = _POWER_ACTIONS.get(event.tag)
        if action is None:
            LOG.warning("invalid power state %r in a power-update event; skipped", event.tag)
            return
        uuid = event.server_uuid
        cell, row = await self._instance(uuid)
        action_id = await self._start_action(cell, uuid, action, request_id)
        if not power_update_applies(row.vm_state, row.task_state, row.power_state or 0, event.tag):
            LOG.info(
                "power-update %s for %s is a no-op in vm_state %s, task_state %s",
                event.tag,
                uuid,
                row.vm_state,
                row.task_state,
            )
            await self._finish(cell, uuid, action_id, POWER_UPDATE_EVENT, row.host or "")
            return
        host = row.host or ""
        command = agent_pb2.AgentCommand(
            power_update=host_events_pb2.PowerUpdate(
                instance_uuid=uuid, power_on=event.tag == "POWER_ON"
            )
        )
        self._core.spawn(self._run(cell, uuid, action_id, host, command), f"power-update {uuid}")

    async def _run(
        self, cell: Cell, uuid: str, action_id: int, host: str, command: agent_pb2.AgentCommand
    ) -> None:
        outcome = await self._core.hub.call(host, command, self._timeout)
        # The agent reports the power transitions and their event itself; only a command that
        # never ran leaves the action to close here.
        if not outcome.ok:
            await self._finish(cell, uuid, action_id, POWER_UPDATE_EVENT, host, outcome.error)

    # ---- volume-extended ------------------------------------------------------------------

    async def _volume_extended(self, event: ExternalEvent, request_id: str) -> None:
        uuid, volume_id = event.server_uuid, event.tag
        cell, row = await self._instance(uuid)
        action_id = await self._start_action(cell, uuid, "extend_volume", request_id)
        host = row.host or ""

        async def resize_bdm(session: AsyncSession) -> bool:
            bdm = await session.scalar(
                select(models.BlockDeviceMapping).where(
                    models.BlockDeviceMapping.instance_uuid == uuid,
                    models.BlockDeviceMapping.volume_id == volume_id,
                    models.BlockDeviceMapping.destination_type == "volume",
                    models.BlockDeviceMapping.deleted.is_(False),
                )
            )
            if bdm is None:
                return False
            if event.volume_size_gb:
                bdm.volume_size = event.volume_size_gb
            return True

        if not await self._core.in_cell(cell, resize_bdm):
            LOG.warning("extend volume failed: volume %s is not attached to %s", volume_id, uuid)
            await self._finish(cell, uuid, action_id, EXTEND_VOLUME_EVENT, host)
            return
        if event.volume_size_gb <= 0:
            # Nova's compute asks the volume service for the new size and fails the event
            # when the volume is unknown there.
            missing = f"Volume {volume_id} could not be found."
            await self._finish(cell, uuid, action_id, EXTEND_VOLUME_EVENT, host, missing)
            return
        command = agent_pb2.AgentCommand(
            extend_volume=host_events_pb2.ExtendVolume(
                instance_uuid=uuid, volume_id=volume_id, size_gb=event.volume_size_gb
            )
        )
        self._core.spawn(
            self._extend(cell, uuid, action_id, host, command), f"volume-extended {uuid}"
        )

    async def _extend(
        self, cell: Cell, uuid: str, action_id: int, host: str, command: agent_pb2.AgentCommand
    ) -> None:
        outcome = await self._core.hub.call(host, command, self._timeout)
        error = "" if outcome.ok else outcome.error
        await self._finish(cell, uuid, action_id, EXTEND_VOLUME_EVENT, host, error)

    # ---- network-vif-deleted --------------------------------------------------------------

    async def _vif_deleted(self, event: ExternalEvent) -> None:
        request = sd.DetachInterfaceRequest(uuid=event.server_uuid, port_id=event.tag)
        try:
            await self._devices.detach_interface(request)
        except NotFound:
            LOG.info("port %s of %s was not attached", event.tag, event.server_uuid)
        except (Conflict, DriverLacks) as exc:
            LOG.warning("detaching deleted port %s of %s: %s", event.tag, event.server_uuid, exc)
