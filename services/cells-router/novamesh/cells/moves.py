"""Resize and cold migration: the conductor's part, and confirm / revert.

Placement follows Nova: when a move starts, the instance's allocation on the source moves to
the migration (consumer = the migration's uuid), the scheduler claims the new flavor on the
destination for the instance; a confirm drops the migration's allocation, a revert drops the
instance's destination allocation and gives the source allocation back to the instance. A move
that fails before the guest runs on the destination puts every allocation back where it was.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid as uuidlib
from dataclasses import dataclass
from typing import Any

import grpc
from novamesh.agent.v1 import agent_pb2
from novamesh.cells import convert
from novamesh.cells.core import Conflict, Core, NotFound
from novamesh.cells.db import instances as inst_db
from novamesh.cells.db import migrations as mig_db
from novamesh.cells.db import models
from novamesh.cells.db.queries import BadQuery
from novamesh.cells.hoststates import HostStates
from novamesh.cells.registry import Cell
from novamesh.cells.v1 import actions_pb2, router_pb2
from novamesh.common import context
from novamesh.common.db import utcnow
from novamesh.placement.v1 import placement_pb2, placement_pb2_grpc
from novamesh.scheduler.v1 import request_spec_pb2, scheduler_pb2, scheduler_pb2_grpc
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

LOG = logging.getLogger(__name__)

NO_VALID_HOST = "No valid host was found."
# The instance's task while each kind of move runs, and the migration's first status.
_TASKS = {"live-migration": "migrating", "evacuation": "rebuilding"}
_FIRST_STATUS = {"live-migration": "queued", "evacuation": "accepted"}


class BadRequest(BadQuery):
    """The request cannot be done as asked (HTTP 400)."""


@dataclass(frozen=True)
class Move:
    migration_uuid: str
    instance: router_pb2.Instance
    source: str
    source_node: str
    old_flavor: request_spec_pb2.Flavor
    new_flavor: request_spec_pb2.Flavor
    # Whether the guest ran before the move (a stopped one stays stopped).
    power_on: bool
    host: str = ""
    migration_type: str = "resize"
    admin_pass: str = ""


def agent_spec(inst: router_pb2.Instance, flavor: request_spec_pb2.Flavor, node: str) -> Any:
    return agent_pb2.InstanceSpec(
        uuid=inst.uuid,
        name=inst.name,
        hostname=inst.hostname,
        project_id=inst.project_id,
        user_id=inst.user_id,
        flavor=flavor,
        image=inst.image,
        metadata=dict(inst.metadata),
        key_name=inst.key_name,
        key_data=inst.key_data,
        config_drive=inst.config_drive,
        networks=list(inst.requested_networks),
        node=node,
    )


class Moves:
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

    # ---- start a move ------------------------------------------------------------------

    async def start(self, req: actions_pb2.MoveInstanceRequest) -> router_pb2.Instance:
        _, cell = await self._core.locate(req.uuid)
        if cell is None:
            raise Conflict(
                f"Cannot '{req.action}' instance {req.uuid} while it is in vm_state building"
            )
        current = await self._core.load(cell, req.uuid)
        if current is None or current.deleted:
            raise NotFound(f"Instance {req.uuid} could not be found.")
        new_flavor = req.flavor if req.HasField("flavor") else current.flavor
        ctx = context.current()
        migration_uuid = str(uuidlib.uuid4())

        async def cas(session: AsyncSession) -> Move:
            row = await inst_db.get_plain(session, req.uuid)
            if row is None or row.deleted:
                raise NotFound(f"Instance {req.uuid} could not be found.")
            if req.migration_type == "evacuation":
                if await self._source_alive(session, row.host):
                    raise BadRequest(f"Compute service of {row.host} is still in use.")
            elif not (row.host and self._core.hub.connected(row.host)):
                raise Conflict(
                    f"Cannot '{req.action}' instance {req.uuid}: its host "
                    f"{row.host or '(none)'} is not available."
                )
            if req.host and req.host == row.host:
                raise BadRequest(
                    f"The target host {req.host} is the host the instance is running on."
                )
            if not await inst_db.compare_and_set(
                session,
                req.uuid,
                list(req.expected_vm_states),
                [""],
                task_state=_TASKS.get(req.migration_type, "resize_prep"),
            ):
                raise Conflict(
                    f"Cannot '{req.action}' instance {req.uuid} while it is in "
                    f"vm_state {row.vm_state} (task_state {row.task_state})"
                )
            await mig_db.create(
                session,
                uuid=migration_uuid,
                instance_uuid=req.uuid,
                source_compute=row.host,
                source_node=row.node,
                status=_FIRST_STATUS.get(req.migration_type, "pre-migrating"),
                migration_type=req.migration_type,
                old_flavor_id=current.flavor.id or None,
                new_flavor_id=new_flavor.id or None,
                old_flavor=convert.message_dict(current.flavor),
                new_flavor=convert.message_dict(new_flavor),
                old_vm_state=row.vm_state,
                user_id=(ctx.user_id if ctx else "") or row.user_id,
                project_id=row.project_id,
            )
            await inst_db.start_action(
                session,
                req.uuid,
                req.action,
                req.request_id or (ctx.request_id if ctx else ""),
                ctx.user_id if ctx else "",
                ctx.project_id if ctx else row.project_id,
            )
            return Move(
                migration_uuid,
                current,
                row.host or "",
                row.node or row.host or "",
                current.flavor,
                new_flavor,
                power_on=row.vm_state != "stopped",
                host=req.host,
                migration_type=req.migration_type,
                admin_pass=req.admin_pass,
            )

        async with self._core.lock(req.uuid):
            if req.uuid in self._core.deleting:
                raise Conflict(f"Cannot '{req.action}' instance {req.uuid} while it is deleting")
            move = await self._core.in_cell(cell, cas)
        runs = {"live-migration": self._run_live, "evacuation": self._run_evacuate}
        run = runs.get(req.migration_type, self._run)
        self._core.spawn(run(cell, move, req.request_id), f"{req.action} {req.uuid}")
        found = await self._core.load(cell, req.uuid)
        if found is None:
            raise NotFound(f"Instance {req.uuid} could not be found.")
        await self._core.publish(cell, req.uuid)
        return found

    async def _run(self, cell: Cell, move: Move, request_id: str) -> None:
        uuid = move.instance.uuid
        try:
            await self._hand_to_migration(uuid, move.migration_uuid, move.instance)
        except grpc.aio.AioRpcError as exc:
            await self._abort(cell, move, f"Cannot move the allocation: {exc.details()}", False)
            return
        selection = await self._select(cell, move, request_id)
        if isinstance(selection, str):
            await self._abort(cell, move, selection, True)
            return
        dest, dest_node = selection.host, selection.nodename or selection.host

        async def migrating(session: AsyncSession) -> None:
            await mig_db.set_status(
                session,
                move.migration_uuid,
                "migrating",
                dest_compute=dest,
                dest_node=dest_node,
                dest_host=dest,
            )

        await self._core.in_cell(cell, migrating)
        out = await self._core.hub.call(
            move.source,
            agent_pb2.AgentCommand(
                migrate_out=agent_pb2.MigrateOut(
                    instance_uuid=uuid, dest_host=dest, migration_uuid=move.migration_uuid
                )
            ),
            self._timeout,
        )
        if not out.ok:
            await self._drop_instance_allocation(uuid)
            await self._abort(cell, move, out.error, True, agent_reported=True)
            return

        async def finishing(session: AsyncSession) -> None:
            await mig_db.set_status(session, move.migration_uuid, "post-migrating")
            await _set_flavor(session, uuid, move.new_flavor)
            await inst_db.update_fields(session, uuid, node=dest_node)

        await self._core.in_cell(cell, finishing)
        await self._core.api.set_spec_flavor(uuid, move.new_flavor)
        finish = await self._core.hub.call(
            dest,
            agent_pb2.AgentCommand(
                finish_migration=agent_pb2.FinishMigration(
                    instance=agent_spec(move.instance, move.new_flavor, dest_node),
                    migration_uuid=move.migration_uuid,
                    power_on=move.power_on,
                )
            ),
            self._timeout,
        )
        if not finish.ok:
            # The guest is stopped on the source: the instance stays there, in ERROR, with
            # its allocation back on the source.
            await self._drop_instance_allocation(uuid)
            await self._give_back(uuid, move.migration_uuid, move.instance)

            async def failed(session: AsyncSession) -> None:
                await mig_db.set_status(session, move.migration_uuid, "error")
                await _set_flavor(session, uuid, move.old_flavor)
                await inst_db.update_fields(
                    session,
                    uuid,
                    host=move.source,
                    node=move.source_node,
                    vm_state="error",
                    task_state=None,
                )

            await self._core.in_cell(cell, failed)
        else:

            async def finished(session: AsyncSession) -> None:
                await mig_db.set_status(session, move.migration_uuid, "finished")
                # The agent reported it too; the record must not depend on that update.
                await inst_db.update_fields(session, uuid, host=dest, node=dest_node)

            await self._core.in_cell(cell, finished)
        await self._core.publish(cell, uuid)
        await self._host_states.changed(cell, move.source)
        await self._host_states.changed(cell, dest)

    async def _source_alive(self, session: AsyncSession, host: str | None) -> bool:
        """Nova evacuates only from a host whose service is down (or forced down)."""
        if not host:
            return False
        forced = await session.scalar(
            select(models.Service.forced_down).where(
                models.Service.host == host, models.Service.deleted.is_(False)
            )
        )
        return bool(self._core.hub.connected(host) and self._core.hub.is_up(host) and not forced)

    # ---- live migration, evacuation --------------------------------------------------------

    async def _run_live(self, cell: Cell, move: Move, request_id: str) -> None:
        uuid = move.instance.uuid
        try:
            await self._hand_to_migration(uuid, move.migration_uuid, move.instance)
        except grpc.aio.AioRpcError as exc:
            await self._abort(cell, move, f"Cannot move the allocation: {exc.details()}", False)
            return
        selection = await self._select(cell, move, request_id)
        if isinstance(selection, str):
            await self._abort(cell, move, selection, True)
            return
        dest, dest_node = selection.host, selection.nodename or selection.host
        await self._core.in_cell(
            cell, _status(move.migration_uuid, "running", dest_compute=dest, dest_node=dest_node)
        )
        outcome = await self._core.hub.call(
            move.source,
            agent_pb2.AgentCommand(
                live_migrate=agent_pb2.LiveMigrate(
                    instance=agent_spec(move.instance, move.old_flavor, dest_node),
                    dest_host=dest,
                    migration_uuid=move.migration_uuid,
                )
            ),
            self._timeout,
        )
        if outcome.ok:
            await self._core.quietly(
                self._placement.DeleteAllocations(
                    placement_pb2.DeleteAllocationsRequest(consumer_uuid=move.migration_uuid)
                ),
                f"releasing the source allocation of {uuid}",
            )

            async def done(session: AsyncSession) -> None:
                await mig_db.set_status(session, move.migration_uuid, "completed")
                await inst_db.update_fields(
                    session, uuid, host=dest, node=dest_node, task_state=None
                )

            await self._core.in_cell(cell, done)
        else:
            await self._drop_instance_allocation(uuid)
            await self._give_back(uuid, move.migration_uuid, move.instance)

            async def failed(session: AsyncSession) -> None:
                await mig_db.set_status(session, move.migration_uuid, "failed")
                await inst_db.update_fields(session, uuid, task_state=None)

            await self._core.in_cell(cell, failed)
        await self._core.publish(cell, uuid)
        await self._host_states.changed(cell, move.source)
        await self._host_states.changed(cell, dest)

    async def _run_evacuate(self, cell: Cell, move: Move, request_id: str) -> None:
        """Rebuild elsewhere: the source is down, so the guest is spawned anew on the target.
        The source's allocation is dropped at once (Nova keeps it until the source host comes
        back; here a dead host's allocation would only hide capacity)."""
        uuid = move.instance.uuid
        try:
            await self._hand_to_migration(uuid, move.migration_uuid, move.instance)
        except grpc.aio.AioRpcError as exc:
            await self._abort(cell, move, f"Cannot move the allocation: {exc.details()}", False)
            return
        selection = await self._select(cell, move, request_id)
        if isinstance(selection, str):
            await self._abort(cell, move, selection, True)
            return
        dest, dest_node = selection.host, selection.nodename or selection.host

        async def placed(session: AsyncSession) -> None:
            await mig_db.set_status(
                session,
                move.migration_uuid,
                "pre-migrating",
                dest_compute=dest,
                dest_node=dest_node,
                dest_host=dest,
            )
            await inst_db.update_fields(session, uuid, host=dest, node=dest_node)

        await self._core.in_cell(cell, placed)
        spec = agent_spec(move.instance, move.old_flavor, dest_node)
        spec.admin_pass = move.admin_pass
        outcome = await self._core.hub.call(
            dest,
            agent_pb2.AgentCommand(
                rebuild=agent_pb2.Rebuild(instance=spec, power_on=move.power_on, on_new_host=True)
            ),
            self._timeout,
        )
        if outcome.ok:
            await self._core.quietly(
                self._placement.DeleteAllocations(
                    placement_pb2.DeleteAllocationsRequest(consumer_uuid=move.migration_uuid)
                ),
                f"releasing the allocation of {uuid} on its dead host",
            )
            await self._core.in_cell(cell, _status(move.migration_uuid, "done"))
        else:
            await self._drop_instance_allocation(uuid)
            await self._give_back(uuid, move.migration_uuid, move.instance)

            async def failed(session: AsyncSession) -> None:
                await mig_db.set_status(session, move.migration_uuid, "failed")
                await inst_db.update_fields(
                    session,
                    uuid,
                    host=move.source,
                    node=move.source_node,
                    vm_state="error",
                    task_state=None,
                )
                await inst_db.add_fault(session, uuid, 500, outcome.error, host=dest)

            await self._core.in_cell(cell, failed)
        await self._core.publish(cell, uuid)
        await self._host_states.changed(cell, dest)

    async def _select(
        self, cell: Cell, move: Move, request_id: str
    ) -> scheduler_pb2.Selection | str:
        raw = await self._core.api.request_spec(move.instance.uuid)
        spec = request_spec_pb2.RequestSpec.FromString(raw or b"")
        spec.project_id = spec.project_id or move.instance.project_id
        spec.user_id = spec.user_id or move.instance.user_id
        spec.flavor.CopyFrom(move.new_flavor)
        spec.num_instances = 1
        spec.source_cell_uuid = cell.uuid
        spec.ClearField("retry")
        spec.ClearField("force_hosts")
        spec.ClearField("force_nodes")
        # Nova's allow_resize_to_same_host defaults to False; a migration never stays put.
        spec.ignore_hosts[:] = [move.source]
        if move.host:
            spec.requested_destination.CopyFrom(
                request_spec_pb2.Destination(host=move.host, cell_uuid=cell.uuid)
            )
        else:
            spec.requested_destination.CopyFrom(request_spec_pb2.Destination(cell_uuid=cell.uuid))
        try:
            resp = await self._scheduler.SelectDestinations(
                scheduler_pb2.SelectDestinationsRequest(
                    spec=spec,
                    instance_uuids=[move.instance.uuid],
                    return_alternates=False,
                    request_id=request_id,
                )
            )
        except grpc.aio.AioRpcError as exc:
            reason = exc.details() or exc.code().name
            if not reason.startswith(NO_VALID_HOST):
                reason = f"{NO_VALID_HOST} {reason}".strip()
            return reason
        for result in resp.results:
            for selection in result.selections:
                if selection.cell_uuid and selection.cell_uuid != cell.uuid:
                    await self._drop_instance_allocation(move.instance.uuid)
                    return f"{NO_VALID_HOST} No host in the instance's cell."
                return selection
        return f"{NO_VALID_HOST} The scheduler chose no host."

    async def _abort(
        self,
        cell: Cell,
        move: Move,
        reason: str,
        give_back: bool,
        agent_reported: bool = False,
    ) -> None:
        """The move did not get to the destination: everything goes back to the source."""
        uuid = move.instance.uuid
        if give_back:
            await self._give_back(uuid, move.migration_uuid, move.instance)

        async def work(session: AsyncSession) -> None:
            await mig_db.set_status(session, move.migration_uuid, "error")
            row = await inst_db.get_plain(session, uuid)
            if row is None or row.deleted:
                return
            if not agent_reported:
                await inst_db.update_fields(session, uuid, task_state=None)
                await inst_db.record_event(
                    session, uuid, "conductor_migrate_server", "Error", details=reason
                )
                await inst_db.add_fault(session, uuid, 500, reason, host=move.source)
            else:
                await inst_db.update_fields(session, uuid, task_state=None)

        await self._core.in_cell(cell, work)
        LOG.info("move failed", extra={"fields": {"uuid": uuid, "why": reason}})
        await self._core.publish(cell, uuid)

    # ---- confirm, revert ----------------------------------------------------------------

    async def confirm(self, req: router_pb2.InstanceActionRequest) -> router_pb2.Instance:
        return await self._finish_move(req, confirming=True)

    async def revert(self, req: router_pb2.InstanceActionRequest) -> router_pb2.Instance:
        return await self._finish_move(req, confirming=False)

    async def _finish_move(
        self, req: router_pb2.InstanceActionRequest, confirming: bool
    ) -> router_pb2.Instance:
        _, cell = await self._core.locate(req.uuid)
        if cell is None:
            raise BadRequest("Instance has not been resized.")
        ctx = context.current()

        async def cas(session: AsyncSession) -> Any:
            row = await inst_db.get_plain(session, req.uuid)
            if row is None or row.deleted:
                raise NotFound(f"Instance {req.uuid} could not be found.")
            mig = await mig_db.latest(session, req.uuid, ("finished",))
            if mig is None:
                raise BadRequest("Instance has not been resized.")
            values: dict[str, Any] = {}
            if req.task_state:
                values["task_state"] = req.task_state
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
            status = "confirming" if confirming else "reverting"
            await mig_db.set_status(session, mig.uuid, status, ("finished",))
            await inst_db.start_action(
                session,
                req.uuid,
                req.action,
                req.request_id or (ctx.request_id if ctx else ""),
                ctx.user_id if ctx else "",
                ctx.project_id if ctx else row.project_id,
            )
            return _migration_view(mig)

        async with self._core.lock(req.uuid):
            if req.uuid in self._core.deleting:
                raise Conflict(f"Cannot '{req.action}' instance {req.uuid} while it is deleting")
            mig = await self._core.in_cell(cell, cas)
        work = self._confirm(cell, mig) if confirming else self._revert(cell, mig)
        self._core.spawn(work, f"{req.action} {req.uuid}")
        found = await self._core.load(cell, req.uuid)
        if found is None:
            raise NotFound(f"Instance {req.uuid} could not be found.")
        await self._core.publish(cell, req.uuid)
        return found

    async def _confirm(self, cell: Cell, mig: _MigrationView) -> None:
        uuid = mig.instance_uuid
        outcome = await self._core.hub.call(
            mig.source,
            agent_pb2.AgentCommand(
                confirm_migration=agent_pb2.ConfirmMigration(
                    instance_uuid=uuid, migration_uuid=mig.uuid
                )
            ),
            self._timeout,
        )
        # The source's allocation goes even when its host did not answer: the guest there is
        # stopped and will never come back (Nova's confirm also frees it on the API side).
        await self._core.quietly(
            self._placement.DeleteAllocations(
                placement_pb2.DeleteAllocationsRequest(consumer_uuid=mig.uuid)
            ),
            f"releasing the allocation of migration {mig.uuid}",
        )

        async def done(session: AsyncSession) -> None:
            await mig_db.set_status(session, mig.uuid, "confirmed" if outcome.ok else "error")
            row = await inst_db.get_plain(session, uuid)
            if row is None or row.deleted:
                return
            await inst_db.update_fields(session, uuid, vm_state=mig.old_vm_state, task_state=None)
            await inst_db.record_event(
                session,
                uuid,
                "compute_confirm_resize",
                "Success" if outcome.ok else "Error",
                host=mig.source,
                details=outcome.error,
            )

        await self._core.in_cell(cell, done)
        await self._core.publish(cell, uuid)
        await self._host_states.changed(cell, mig.source)

    async def _revert(self, cell: Cell, mig: _MigrationView) -> None:
        uuid = mig.instance_uuid
        inst = await self._core.load(cell, uuid)
        if inst is None:
            return
        dest_spec = agent_spec(inst, mig.new_flavor, mig.dest_node)
        await self._core.hub.call(
            mig.dest,
            agent_pb2.AgentCommand(
                revert_migration=agent_pb2.RevertMigration(
                    instance=dest_spec, migration_uuid=mig.uuid, destroy_only=True
                )
            ),
            self._timeout,
        )
        await self._drop_instance_allocation(uuid)
        await self._give_back(uuid, mig.uuid, inst)

        async def restore(session: AsyncSession) -> None:
            await _set_flavor(session, uuid, mig.old_flavor)
            await inst_db.update_fields(session, uuid, host=mig.source, node=mig.source_node)

        await self._core.in_cell(cell, restore)
        await self._core.api.set_spec_flavor(uuid, mig.old_flavor)
        outcome = await self._core.hub.call(
            mig.source,
            agent_pb2.AgentCommand(
                revert_migration=agent_pb2.RevertMigration(
                    instance=agent_spec(inst, mig.old_flavor, mig.source_node),
                    migration_uuid=mig.uuid,
                    power_on=mig.old_vm_state != "stopped",
                )
            ),
            self._timeout,
        )

        async def done(session: AsyncSession) -> None:
            await mig_db.set_status(session, mig.uuid, "reverted" if outcome.ok else "error")
            if not outcome.ok:
                await inst_db.update_fields(session, uuid, vm_state="error", task_state=None)

        await self._core.in_cell(cell, done)
        await self._core.publish(cell, uuid)
        await self._host_states.changed(cell, mig.source)
        await self._host_states.changed(cell, mig.dest)

    # ---- automatic confirm, delete --------------------------------------------------------

    async def confirm_due(self, cell: Cell, window: float) -> int:
        """Confirm the moves that waited longer than `window` seconds; returns how many."""
        older_than = utcnow() - dt.timedelta(seconds=window)

        async def due(session: AsyncSession) -> list[_MigrationView]:
            return [_migration_view(m) for m in await mig_db.due_for_confirm(session, older_than)]

        count = 0
        for mig in await self._core.in_cell(cell, due):

            async def claim(session: AsyncSession, mig: _MigrationView = mig) -> bool:
                if not await mig_db.set_status(session, mig.uuid, "confirming", ("finished",)):
                    return False
                await inst_db.start_action(session, mig.instance_uuid, "confirmResize", "", "", "")
                return True

            async with self._core.lock(mig.instance_uuid):
                claimed = await self._core.in_cell(cell, claim)
            if claimed:
                await self._confirm(cell, mig)
                count += 1
        return count

    async def forget(self, cell: Cell, uuid: str) -> None:
        """A deleted instance's unfinished move: drop the source's guest and allocation."""

        async def find(session: AsyncSession) -> _MigrationView | None:
            mig = await mig_db.latest(session, uuid)
            if mig is None:
                return None
            await mig_db.set_status(session, mig.uuid, "error")
            return _migration_view(mig)

        mig = await self._core.in_cell(cell, find)
        if mig is None:
            return
        if mig.source and self._core.hub.connected(mig.source):
            await self._core.hub.call(
                mig.source,
                agent_pb2.AgentCommand(
                    confirm_migration=agent_pb2.ConfirmMigration(
                        instance_uuid=uuid, migration_uuid=mig.uuid
                    )
                ),
                self._timeout,
            )
        await self._core.quietly(
            self._placement.DeleteAllocations(
                placement_pb2.DeleteAllocationsRequest(consumer_uuid=mig.uuid)
            ),
            f"releasing the allocation of migration {mig.uuid}",
        )

    # ---- placement ------------------------------------------------------------------------

    async def _hand_to_migration(
        self, uuid: str, migration_uuid: str, inst: router_pb2.Instance
    ) -> None:
        """The instance's source allocation becomes the migration's."""
        current = await self._placement.GetAllocations(
            placement_pb2.GetAllocationsRequest(consumer_uuid=uuid)
        )
        if not current.allocations:
            return
        await self._placement.ClaimAllocations(
            placement_pb2.ClaimAllocationsRequest(
                consumer_uuid=migration_uuid,
                allocations=_plain(current.allocations),
                project_id=current.project_id or inst.project_id,
                user_id=current.user_id or inst.user_id,
                consumer_generation=-1,
                consumer_type="MIGRATION",
            )
        )
        await self._placement.DeleteAllocations(
            placement_pb2.DeleteAllocationsRequest(consumer_uuid=uuid)
        )

    async def _give_back(self, uuid: str, migration_uuid: str, inst: router_pb2.Instance) -> None:
        """The migration's source allocation goes back to the instance."""
        try:
            held = await self._placement.GetAllocations(
                placement_pb2.GetAllocationsRequest(consumer_uuid=migration_uuid)
            )
            if not held.allocations:
                return
            await self._placement.ClaimAllocations(
                placement_pb2.ClaimAllocationsRequest(
                    consumer_uuid=uuid,
                    allocations=_plain(held.allocations),
                    project_id=held.project_id or inst.project_id,
                    user_id=held.user_id or inst.user_id,
                    consumer_generation=-1,
                    consumer_type="INSTANCE",
                )
            )
            await self._placement.DeleteAllocations(
                placement_pb2.DeleteAllocationsRequest(consumer_uuid=migration_uuid)
            )
        except grpc.aio.AioRpcError as exc:
            LOG.warning("cannot give migration %s's allocation back: %s", migration_uuid, exc)

    async def _drop_instance_allocation(self, uuid: str) -> None:
        await self._core.quietly(
            self._placement.DeleteAllocations(
                placement_pb2.DeleteAllocationsRequest(consumer_uuid=uuid)
            ),
            f"releasing the destination allocation of {uuid}",
        )


def _plain(
    allocations: Any,
) -> dict[str, placement_pb2.ProviderAllocation]:
    # Generations of the providers are the placement service's business on a claim.
    return {
        rp: placement_pb2.ProviderAllocation(resources=dict(a.resources))
        for rp, a in allocations.items()
    }


def _status(migration_uuid: str, status: str, **values: Any) -> Any:
    async def work(session: AsyncSession) -> None:
        await mig_db.set_status(session, migration_uuid, status, **values)

    return work


async def _set_flavor(session: AsyncSession, uuid: str, flavor: request_spec_pb2.Flavor) -> None:
    await mig_db.set_flavor(session, uuid, convert.message_dict(flavor), flavor.id or None)


@dataclass(frozen=True)
class _MigrationView:
    uuid: str
    instance_uuid: str
    source: str
    source_node: str
    dest: str
    dest_node: str
    old_flavor: request_spec_pb2.Flavor
    new_flavor: request_spec_pb2.Flavor
    old_vm_state: str


def _migration_view(m: mig_db.Mig) -> _MigrationView:
    return _MigrationView(
        uuid=m.uuid,
        instance_uuid=m.instance_uuid,
        source=m.source_compute or "",
        source_node=m.source_node or m.source_compute or "",
        dest=m.dest_compute or "",
        dest_node=m.dest_node or m.dest_compute or "",
        old_flavor=convert.dict_message(request_spec_pb2.Flavor, m.old_flavor),
        new_flavor=convert.dict_message(request_spec_pb2.Flavor, m.new_flavor),
        old_vm_state=m.old_vm_state or "active",
    )
