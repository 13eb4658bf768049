"""Shelve, shelve offload and unshelve.

Shelve stops the guest and snapshots it (the gateway created the image); the instance is
SHELVED on its host. Offloading (at once when shelved_offload_time is 0, later by the periodic
task, or on an admin's shelveOffload) destroys the guest there, frees its allocation and its
host: SHELVED_OFFLOADED. Unshelving a SHELVED instance starts it where it is; an offloaded one
is scheduled again (optionally to a zone or host), its resources claimed by the scheduler, and
spawned from the shelve snapshot.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import grpc
from novamesh.agent.v1 import agent_pb2
from novamesh.cells.core import Conflict, Core, NotFound
from novamesh.cells.db import instances as inst_db
from novamesh.cells.db import migrations as mig_db
from novamesh.cells.hoststates import HostStates
from novamesh.cells.moves import NO_VALID_HOST, agent_spec
from novamesh.cells.registry import Cell
from novamesh.cells.v1 import router_pb2
from novamesh.common import context
from novamesh.common.db import utcnow
from novamesh.placement.v1 import placement_pb2, placement_pb2_grpc
from novamesh.scheduler.v1 import request_spec_pb2, scheduler_pb2, scheduler_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

LOG = logging.getLogger(__name__)

ACTIONS = {"shelve", "shelveOffload", "unshelve"}


class Shelving:
    def __init__(
        self,
        core: Core,
        host_states: HostStates,
        scheduler: scheduler_pb2_grpc.SchedulerServiceAsyncStub,
        placement: placement_pb2_grpc.PlacementServiceAsyncStub,
        command_timeout: float = 300.0,
    ) -> None:
        self._core = core
        self._host_states = host_states
        self._scheduler = scheduler
        self._placement = placement
        self._timeout = command_timeout
        # Nova's shelved_offload_time (set from configuration by the app).
        self.offload_time = 0

    async def action(self, req: router_pb2.InstanceActionRequest) -> router_pb2.Instance:
        _, cell = await self._core.locate(req.uuid)
        if cell is None:
            raise Conflict(
                f"Cannot '{req.action}' instance {req.uuid} while it is in vm_state building"
            )
        ctx = context.current()

        async def cas(session: AsyncSession) -> tuple[str | None, str | None]:
            row = await inst_db.get_plain(session, req.uuid)
            if row is None or row.deleted:
                raise NotFound(f"Instance {req.uuid} could not be found.")
            needs_host = req.action != "unshelve" or row.vm_state == "shelved"
            if needs_host and not (row.host and self._core.hub.connected(row.host)):
                raise Conflict(
                    f"Cannot '{req.action}' instance {req.uuid}: its host "
                    f"{row.host or '(none)'} is not available."
                )
            if not await inst_db.compare_and_set(
                session,
                req.uuid,
                list(req.expected_vm_states),
                list(req.expected_task_states),
                task_state=req.task_state or None,
            ):
                raise Conflict(
                    f"Cannot '{req.action}' instance {req.uuid} while it is in "
                    f"vm_state {row.vm_state} (task_state {row.task_state})"
                )
            await inst_db.start_action(
                session,
                req.uuid,
                req.action,
                req.request_id or (ctx.request_id if ctx else ""),
                ctx.user_id if ctx else "",
                ctx.project_id if ctx else row.project_id,
            )
            return row.host, row.vm_state

        async with self._core.lock(req.uuid):
            if req.uuid in self._core.deleting:
                raise Conflict(f"Cannot '{req.action}' instance {req.uuid} while it is deleting")
            host, vm_state = await self._core.in_cell(cell, cas)
        if req.action == "shelve":
            work: Any = self._shelve(cell, req, host or "")
        elif req.action == "shelveOffload":
            work = self._offload(cell, req.uuid, host or "")
        elif vm_state == "shelved":
            work = self._start_in_place(cell, req.uuid, host or "")
        else:
            work = self._unshelve(cell, req)
        self._core.spawn(work, f"{req.action} {req.uuid}")
        found = await self._core.load(cell, req.uuid)
        if found is None:
            raise NotFound(f"Instance {req.uuid} could not be found.")
        await self._core.publish(cell, req.uuid)
        return found

    # ---- shelve --------------------------------------------------------------------------

    async def _shelve(self, cell: Cell, req: router_pb2.InstanceActionRequest, host: str) -> None:
        uuid, image_id = req.uuid, req.params.get("image_id", "")
        stop = await self._core.hub.call(
            host,
            agent_pb2.AgentCommand(
                power=agent_pb2.PowerAction(
                    instance_uuid=uuid, kind=agent_pb2.PowerAction.KIND_STOP
                )
            ),
            self._timeout,
        )
        snap = (
            await self._core.hub.call(
                host,
                agent_pb2.AgentCommand(
                    snapshot=agent_pb2.Snapshot(
                        instance_uuid=uuid, image_id=image_id, image_type="snapshot"
                    )
                ),
                self._timeout,
            )
            if stop.ok
            else stop
        )

        async def done(session: AsyncSession) -> None:
            if not snap.ok:
                await inst_db.update_fields(session, uuid, task_state=None)
                await inst_db.add_fault(session, uuid, 500, snap.error, host=host)
                await inst_db.record_event(
                    session, uuid, "compute_shelve_instance", "Error", host, snap.error, "shelve"
                )
                return
            await inst_db.update_fields(session, uuid, vm_state="shelved", task_state=None)
            await mig_db.set_system_metadata(
                session,
                uuid,
                shelved_at=utcnow().isoformat(),
                shelved_image_id=image_id,
                shelved_host=host,
            )
            await inst_db.record_event(
                session, uuid, "compute_shelve_instance", "Success", host, action="shelve"
            )

        await self._core.in_cell(cell, done)
        await self._core.publish(cell, uuid)
        if snap.ok and self.offload_time == 0:
            await self._offload(cell, uuid, host)

    async def _offload(self, cell: Cell, uuid: str, host: str) -> None:
        outcome = await self._core.hub.call(
            host,
            agent_pb2.AgentCommand(shelve_offload=agent_pb2.ShelveOffload(instance_uuid=uuid)),
            self._timeout,
        )

        async def done(session: AsyncSession) -> None:
            if not outcome.ok:
                await inst_db.update_fields(session, uuid, task_state=None)
                return
            await inst_db.update_fields(
                session,
                uuid,
                vm_state="shelved_offloaded",
                task_state=None,
                host=None,
                node=None,
                power_state=0,
            )

        await self._core.in_cell(cell, done)
        if outcome.ok:
            await self._release(uuid)
        await self._core.publish(cell, uuid)
        await self._host_states.changed(cell, host)

    async def offload_due(self, cell: Cell, offload_time: float) -> int:
        """Offload the servers shelved longer than `offload_time` seconds (the periodic)."""
        cutoff = utcnow() - dt.timedelta(seconds=offload_time)

        async def due(session: AsyncSession) -> list[tuple[str, str]]:
            found = []
            for uuid in await mig_db.shelved_before(session, cutoff):
                row = await inst_db.get_plain(session, uuid)
                if (
                    row is not None
                    and row.host
                    and await inst_db.compare_and_set(
                        session, uuid, ["shelved"], [""], task_state="shelving_offloading"
                    )
                ):
                    found.append((uuid, row.host))
            return found

        claimed: list[tuple[str, str]] = await self._core.in_cell(cell, due)
        for uuid, host in claimed:
            await self._offload(cell, uuid, host)
        return len(claimed)

    # ---- unshelve ------------------------------------------------------------------------

    async def _start_in_place(self, cell: Cell, uuid: str, host: str) -> None:
        outcome = await self._core.hub.call(
            host,
            agent_pb2.AgentCommand(
                power=agent_pb2.PowerAction(
                    instance_uuid=uuid, kind=agent_pb2.PowerAction.KIND_START
                )
            ),
            self._timeout,
        )

        async def done(session: AsyncSession) -> None:
            if outcome.ok:
                await inst_db.update_fields(session, uuid, vm_state="active", task_state=None)
                await mig_db.set_system_metadata(
                    session, uuid, shelved_at=None, shelved_image_id=None, shelved_host=None
                )
            else:
                await inst_db.update_fields(session, uuid, vm_state="shelved", task_state=None)

        await self._core.in_cell(cell, done)
        await self._core.publish(cell, uuid)

    async def _unshelve(self, cell: Cell, req: router_pb2.InstanceActionRequest) -> None:
        uuid = req.uuid
        inst = await self._core.load(cell, uuid)
        if inst is None:
            return
        image_id = inst.system_metadata.get("shelved_image_id", "") or inst.image.id
        image = request_spec_pb2.ImageMeta()
        image.CopyFrom(inst.image)
        image.id = image_id
        raw = await self._core.api.request_spec(uuid)
        spec = request_spec_pb2.RequestSpec.FromString(raw or b"")
        spec.project_id = spec.project_id or inst.project_id
        spec.user_id = spec.user_id or inst.user_id
        spec.flavor.CopyFrom(inst.flavor)
        spec.image.CopyFrom(image)
        spec.num_instances = 1
        spec.ClearField("retry")
        zone = req.params.get("availability_zone")
        if zone is not None:
            spec.availability_zone = zone
        destination = request_spec_pb2.Destination(cell_uuid=cell.uuid)
        if req.params.get("host"):
            destination.host = req.params["host"]
        spec.requested_destination.CopyFrom(destination)
        selection: scheduler_pb2.Selection | None = None
        reason = ""
        try:
            resp = await self._scheduler.SelectDestinations(
                scheduler_pb2.SelectDestinationsRequest(
                    spec=spec, instance_uuids=[uuid], request_id=req.request_id
                )
            )
            chosen = [s for r in resp.results for s in r.selections]
            selection = chosen[0] if chosen else None
            if selection is None:
                reason = f"{NO_VALID_HOST} The scheduler chose no host."
        except grpc.aio.AioRpcError as exc:
            reason = exc.details() or exc.code().name
            if not reason.startswith(NO_VALID_HOST):
                reason = f"{NO_VALID_HOST} {reason}".strip()
        outcome_error = reason
        if selection is not None:
            node = selection.nodename or selection.host

            async def place(session: AsyncSession) -> None:
                await inst_db.update_fields(session, uuid, host=selection.host, node=node)

            await self._core.in_cell(cell, place)
            shown = router_pb2.Instance()
            shown.CopyFrom(inst)
            shown.image.CopyFrom(image)
            outcome = await self._core.hub.call(
                selection.host,
                agent_pb2.AgentCommand(
                    unshelve=agent_pb2.Unshelve(instance=agent_spec(shown, inst.flavor, node))
                ),
                self._timeout,
            )
            outcome_error = "" if outcome.ok else outcome.error
            if not outcome.ok:
                await self._release(uuid)

        async def done(session: AsyncSession) -> None:
            if not outcome_error:
                await mig_db.set_system_metadata(
                    session, uuid, shelved_at=None, shelved_image_id=None, shelved_host=None
                )
                return
            await inst_db.update_fields(
                session,
                uuid,
                vm_state="shelved_offloaded",
                task_state=None,
                host=None,
                node=None,
            )
            await inst_db.add_fault(session, uuid, 500, outcome_error)
            await inst_db.record_event(
                session,
                uuid,
                "compute_unshelve_instance",
                "Error",
                details=outcome_error,
                action="unshelve",
            )

        await self._core.in_cell(cell, done)
        await self._core.publish(cell, uuid)
        if selection is not None:
            await self._host_states.changed(cell, selection.host)

    async def _release(self, uuid: str) -> None:
        await self._core.quietly(
            self._placement.DeleteAllocations(
                placement_pb2.DeleteAllocationsRequest(consumer_uuid=uuid)
            ),
            f"releasing the allocation of {uuid}",
        )
