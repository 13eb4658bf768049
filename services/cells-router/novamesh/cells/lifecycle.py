"""Changes to one existing instance: delete, lifecycle actions (start, stop, reboot ...), edits.

Delete follows Nova: a build request that never landed is simply removed (and its build
cancelled); an instance in a cell goes to task_state deleting, its host terminates it, then the
row is soft-deleted, its allocation released and its mapping queued for delete. A host that is
down or has no agent gets a local delete (the same records, without asking the host).
"""

from __future__ import annotations

import logging

from novamesh.agent.v1 import agent_pb2
from novamesh.cells import convert
from novamesh.cells.apistore import PendingBuild
from novamesh.cells.core import Conflict, Core, NotFound
from novamesh.cells.db import block_devices as bdm_db
from novamesh.cells.db import instances as inst_db
from novamesh.cells.guest_actions import ACTIONS as GUEST_ACTIONS
from novamesh.cells.guest_actions import GuestActions
from novamesh.cells.hoststates import HostStates
from novamesh.cells.moves import Moves
from novamesh.cells.registry import Cell
from novamesh.cells.shelving import ACTIONS as SHELVE_ACTIONS
from novamesh.cells.shelving import Shelving
from novamesh.cells.v1 import router_pb2
from novamesh.common import context
from novamesh.placement.v1 import placement_pb2, placement_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

LOG = logging.getLogger(__name__)

PowerKind = agent_pb2.PowerAction.Kind

POWER_ACTIONS: dict[str, agent_pb2.PowerAction.Kind.ValueType] = {
    "start": PowerKind.KIND_START,
    "stop": PowerKind.KIND_STOP,
    "pause": PowerKind.KIND_PAUSE,
    "unpause": PowerKind.KIND_UNPAUSE,
    "suspend": PowerKind.KIND_SUSPEND,
    "resume": PowerKind.KIND_RESUME,
}
# Actions that only change the record.
RECORD_ACTIONS = {"lock", "unlock"}


class Lifecycle:
    def __init__(
        self,
        core: Core,
        host_states: HostStates,
        placement: placement_pb2_grpc.PlacementServiceAsyncStub,
        command_timeout: float = 120.0,
    ) -> None:
        self._core = core
        self._host_states = host_states
        self._placement = placement
        self._timeout = command_timeout
        # The other server actions (set by the app; None in setups that only boot and delete).
        self.moves: Moves | None = None
        self.guest: GuestActions | None = None
        self.shelving: Shelving | None = None

    # ---- delete ------------------------------------------------------------------------

    async def delete(self, uuid: str, request_id: str) -> None:
        _, cell = await self._core.locate(uuid)
        if cell is None:
            pending = await self._core.api.build_request(uuid)
            if await self._core.api.delete_build(uuid):
                await self._core.mappings.invalidate(uuid)
                # The conductor finds the build request gone and undoes what it did; this only
                # covers an allocation claimed before a router restart lost that conductor.
                await self._release(uuid)
                await self._core.api.release_volumes(uuid, _doomed(pending))
                if pending is not None:
                    gone = convert.pending_instance(
                        pending.instance, pending.tags, pending.created_at
                    )
                    gone.deleted = True
                    gone.vm_state = "deleted"
                    self._core.publish_message(gone, router_pb2.InstanceEvent.KIND_DELETED)
                return
            # It landed in a cell meanwhile.
            _, cell = await self._core.locate(uuid)
            if cell is None:
                raise NotFound(f"Instance {uuid} could not be found.")
        ctx = context.current()

        async def claim(session: AsyncSession) -> str | None:
            row = await inst_db.get_plain(session, uuid)
            if row is None or row.deleted:
                raise NotFound(f"Instance {uuid} could not be found.")
            await inst_db.update_fields(session, uuid, task_state="deleting")
            await inst_db.start_action(
                session,
                uuid,
                "delete",
                request_id or (ctx.request_id if ctx else ""),
                ctx.user_id if ctx else "",
                ctx.project_id if ctx else row.project_id,
            )
            return row.host

        async with self._core.lock(uuid):
            if uuid in self._core.deleting:
                return  # a delete is already under way
            host = await self._core.in_cell(cell, claim)
            self._core.deleting.add(uuid)
        await self._core.publish(cell, uuid)
        if host and self._core.hub.connected(host) and self._core.hub.is_up(host):
            self._core.spawn(self._terminate(cell, uuid, host), f"terminate {uuid}")
        else:
            await self._finish_delete(cell, uuid, host)

    async def _terminate(self, cell: Cell, uuid: str, host: str) -> None:
        outcome = await self._core.hub.call(
            host,
            agent_pb2.AgentCommand(terminate=agent_pb2.Terminate(instance_uuid=uuid)),
            self._timeout,
        )
        if outcome.ok:
            await self._finish_delete(cell, uuid, host)
            return

        async def failed(session: AsyncSession) -> None:
            await inst_db.update_fields(session, uuid, vm_state="error", task_state=None)
            message = f"Delete failed: {outcome.error}"
            await inst_db.add_fault(session, uuid, 500, message, host=host)
            await inst_db.record_event(
                session, uuid, "compute_terminate_instance", "Error", host, outcome.error, "delete"
            )

        await self._core.in_cell(cell, failed)
        self._core.deleting.discard(uuid)
        await self._core.publish(cell, uuid)

    async def _finish_delete(self, cell: Cell, uuid: str, host: str | None) -> None:
        async def work(session: AsyncSession) -> list[str]:
            await inst_db.soft_delete(session, uuid)
            await inst_db.record_event(
                session, uuid, "compute_terminate_instance", "Success", host, action="delete"
            )
            return await bdm_db.doomed_volumes(session, uuid)

        doomed = await self._core.in_cell(cell, work)
        await self._release(uuid)
        await self._core.api.release_volumes(uuid, doomed)
        if self.moves is not None:
            await self._core.quietly(self.moves.forget(cell, uuid), f"ending the move of {uuid}")
        await self._core.api.queue_for_delete(uuid)
        await self._core.mappings.invalidate(uuid)
        self._core.hub.abandon(uuid, "The instance was deleted.")
        self._core.deleting.discard(uuid)
        await self._core.publish(cell, uuid, router_pb2.InstanceEvent.KIND_DELETED)
        if host:
            await self._host_states.changed(cell, host)

    async def _release(self, uuid: str) -> None:
        await self._core.quietly(
            self._placement.DeleteAllocations(
                placement_pb2.DeleteAllocationsRequest(consumer_uuid=uuid)
            ),
            f"releasing the allocation of {uuid}",
        )

    # ---- actions -----------------------------------------------------------------------

    async def action(self, req: router_pb2.InstanceActionRequest) -> router_pb2.Instance:
        if self.moves is not None and req.action in ("confirmResize", "revertResize"):
            if req.action == "confirmResize":
                return await self.moves.confirm(req)
            return await self.moves.revert(req)
        if self.shelving is not None and req.action in SHELVE_ACTIONS:
            return await self.shelving.action(req)
        if self.guest is not None and req.action in GUEST_ACTIONS:
            return await self.guest.action(req)
        _, cell = await self._core.locate(req.uuid)
        if cell is None:
            raise Conflict(
                f"Cannot '{req.action}' instance {req.uuid} while it is in vm_state building"
            )
        kind = self._power_kind(req)
        if kind is None and req.action not in RECORD_ACTIONS:
            raise NotImplementedError(f"The action {req.action} is not supported yet.")
        ctx = context.current()

        async def cas(session: AsyncSession) -> str | None:
            row = await inst_db.get_plain(session, req.uuid)
            if row is None or row.deleted:
                raise NotFound(f"Instance {req.uuid} could not be found.")
            values: dict[str, object] = {}
            if req.task_state:
                values["task_state"] = req.task_state
            if req.action == "lock":
                values.update(
                    locked=True,
                    locked_reason=(
                        req.params.get("locked_reason") or req.params.get("reason") or None
                    ),
                )
            elif req.action == "unlock":
                values.update(locked=False, locked_reason=None)
            if kind is not None and not (row.host and self._core.hub.connected(row.host)):
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
                req.action,
                req.request_id or (ctx.request_id if ctx else ""),
                ctx.user_id if ctx else "",
                ctx.project_id if ctx else row.project_id,
            )
            return row.host

        async with self._core.lock(req.uuid):
            if req.uuid in self._core.deleting:
                raise Conflict(f"Cannot '{req.action}' instance {req.uuid} while it is deleting")
            host = await self._core.in_cell(cell, cas)
        if kind is not None and host:
            command = agent_pb2.AgentCommand(
                power=agent_pb2.PowerAction(instance_uuid=req.uuid, kind=kind)
            )
            self._core.spawn(self._power(cell, req, host, command), f"{req.action} {req.uuid}")
        found = await self._core.load(cell, req.uuid)
        if found is None:
            raise NotFound(f"Instance {req.uuid} could not be found.")
        await self._core.publish(cell, req.uuid)
        return found

    @staticmethod
    def _power_kind(req: router_pb2.InstanceActionRequest) -> PowerKind.ValueType | None:
        if req.action == "reboot":
            hard = req.params.get("type", "SOFT").upper() == "HARD"
            return PowerKind.KIND_REBOOT_HARD if hard else PowerKind.KIND_REBOOT_SOFT
        return POWER_ACTIONS.get(req.action)

    async def _power(
        self,
        cell: Cell,
        req: router_pb2.InstanceActionRequest,
        host: str,
        command: agent_pb2.AgentCommand,
    ) -> None:
        outcome = await self._core.hub.call(host, command, self._timeout)
        if outcome.ok:
            return

        async def failed(session: AsyncSession) -> None:
            # The instance keeps its state; only the task is over.
            await inst_db.update_fields(session, req.uuid, task_state=None)
            await inst_db.record_event(
                session, req.uuid, f"compute_{req.action}_instance", "Error", host, outcome.error
            )

        await self._core.in_cell(cell, failed)
        await self._core.publish(cell, req.uuid)


def _doomed(pending: PendingBuild | None) -> list[str]:
    """The delete_on_termination volumes of a build that never reached a cell."""
    if pending is None:
        return []
    inst = router_pb2.Instance.FromString(pending.instance)
    return [
        b.volume_id
        for b in inst.block_device_mappings
        if b.destination_type == "volume" and b.delete_on_termination and b.volume_id
    ]
