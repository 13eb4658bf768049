"""The end of a resize or cold migration: confirm (also automatically after
resize_confirm_window), revert, and the move of an instance deleted meanwhile."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from novamesh.agent.v1 import agent_pb2
from novamesh.cells import convert
from novamesh.cells.core import Conflict, Core, NotFound
from novamesh.cells.db import instances as inst_db
from novamesh.cells.db import migrations as mig_db
from novamesh.cells.hoststates import HostStates
from novamesh.cells.moves_alloc import MoveAllocations
from novamesh.cells.moves_base import BadRequest, agent_spec, set_flavor
from novamesh.cells.registry import Cell
from novamesh.cells.v1 import router_pb2
from novamesh.common import context
from novamesh.common.db import utcnow
from novamesh.placement.v1 import placement_pb2, placement_pb2_grpc
from novamesh.scheduler.v1 import request_spec_pb2
from sqlalchemy.ext.asyncio import AsyncSession


class MoveEnds:
    def __init__(
        self,
        core: Core,
        host_states: HostStates,
        placement: placement_pb2_grpc.PlacementServiceAsyncStub,
        alloc: MoveAllocations,
        command_timeout: float,
    ) -> None:
        self._core = core
        self._host_states = host_states
        self._placement = placement
        self._alloc = alloc
        self._timeout = command_timeout

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
        await self._alloc.drop_instance(uuid)
        await self._alloc.give_back(uuid, mig.uuid, inst)

        async def restore(session: AsyncSession) -> None:
            await set_flavor(session, uuid, mig.old_flavor)
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
