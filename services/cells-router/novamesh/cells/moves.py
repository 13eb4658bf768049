"""Moves, the conductor's part: starting any move, and resize and cold migration through.

The kinds of move share one start (state checks, the migration record, the instance action)
and one destination choice (the scheduler); live migration and evacuation run in
`moves_remote`, confirm and revert in `moves_finish`, the allocations in `moves_alloc`.
"""

from __future__ import annotations

import logging
import uuid as uuidlib

import grpc
from novamesh.agent.v1 import agent_pb2
from novamesh.cells import convert
from novamesh.cells.core import Conflict, Core, NotFound
from novamesh.cells.db import instances as inst_db
from novamesh.cells.db import migrations as mig_db
from novamesh.cells.hoststates import HostStates
from novamesh.cells.moves_alloc import MoveAllocations
from novamesh.cells.moves_base import NO_VALID_HOST, BadRequest, Move, agent_spec, set_flavor
from novamesh.cells.moves_finish import MoveEnds
from novamesh.cells.moves_remote import RemoteMoves
from novamesh.cells.registry import Cell
from novamesh.cells.v1 import actions_pb2, router_pb2
from novamesh.common import context
from novamesh.placement.v1 import placement_pb2_grpc
from novamesh.scheduler.v1 import request_spec_pb2, scheduler_pb2, scheduler_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["NO_VALID_HOST", "BadRequest", "Move", "Moves", "agent_spec"]

LOG = logging.getLogger(__name__)

# The instance's task while each kind of move runs, and the migration's first status.
_TASKS = {"live-migration": "migrating", "evacuation": "rebuilding"}
_FIRST_STATUS = {"live-migration": "queued", "evacuation": "accepted"}


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
        # Nova's allow_resize_to_same_host, set from [actions] by the periodic task's setup.
        self.allow_resize_to_same_host = False
        self._alloc = MoveAllocations(core, placement)
        self._remote = RemoteMoves(
            core, host_states, placement, self._alloc, self._place, command_timeout
        )
        self._ends = MoveEnds(core, host_states, placement, self._alloc, command_timeout)

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
                if await self._remote.source_alive(session, row.host):
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
        runs = {"live-migration": self._remote.run_live, "evacuation": self._remote.run_evacuate}
        run = runs.get(req.migration_type, self._run)
        self._core.spawn(run(cell, move, req.request_id), f"{req.action} {req.uuid}")
        found = await self._core.load(cell, req.uuid)
        if found is None:
            raise NotFound(f"Instance {req.uuid} could not be found.")
        await self._core.publish(cell, req.uuid)
        return found

    async def _run(self, cell: Cell, move: Move, request_id: str) -> None:
        uuid = move.instance.uuid
        selection = await self._place(cell, move, request_id)
        if selection is None:
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
            await self._alloc.drop_instance(uuid)
            await self._abort(cell, move, out.error, True, agent_reported=True)
            return

        async def finishing(session: AsyncSession) -> None:
            await mig_db.set_status(session, move.migration_uuid, "post-migrating")
            await set_flavor(session, uuid, move.new_flavor)
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
            await self._alloc.drop_instance(uuid)
            await self._alloc.give_back(uuid, move.migration_uuid, move.instance)

            async def failed(session: AsyncSession) -> None:
                await mig_db.set_status(session, move.migration_uuid, "error")
                await set_flavor(session, uuid, move.old_flavor)
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

    async def _place(
        self, cell: Cell, move: Move, request_id: str
    ) -> scheduler_pb2.Selection | None:
        """The first steps of every move: the migration takes over the source's allocation,
        then the scheduler picks the destination; on failure the move is aborted (None)."""
        try:
            await self._alloc.hand_to_migration(
                move.instance.uuid, move.migration_uuid, move.instance
            )
        except grpc.aio.AioRpcError as exc:
            await self._abort(cell, move, f"Cannot move the allocation: {exc.details()}", False)
            return None
        selection = await self._select(cell, move, request_id)
        if isinstance(selection, str):
            await self._abort(cell, move, selection, True)
            return None
        return selection

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
        # Nova's allow_resize_to_same_host (default False) lets a resize stay on its host; a
        # migration never stays put.
        if not (self.allow_resize_to_same_host and move.migration_type == "resize"):
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
                    await self._alloc.drop_instance(move.instance.uuid)
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
            await self._alloc.give_back(uuid, move.migration_uuid, move.instance)

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

    # ---- the end of a resize or migration --------------------------------------------------

    async def confirm(self, req: router_pb2.InstanceActionRequest) -> router_pb2.Instance:
        return await self._ends.confirm(req)

    async def revert(self, req: router_pb2.InstanceActionRequest) -> router_pb2.Instance:
        return await self._ends.revert(req)

    async def confirm_due(self, cell: Cell, window: float) -> int:
        """Confirm the moves that waited longer than `window` seconds; returns how many."""
        return await self._ends.confirm_due(cell, window)

    async def forget(self, cell: Cell, uuid: str) -> None:
        """A deleted instance's unfinished move: drop the source's guest and allocation."""
        await self._ends.forget(cell, uuid)
