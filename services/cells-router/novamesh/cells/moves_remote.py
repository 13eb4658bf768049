"""Live migration and evacuation: the guest moves while it runs, or is rebuilt elsewhere
because its host is dead."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from novamesh.agent.v1 import agent_pb2, host_events_pb2
from novamesh.cells.core import Core
from novamesh.cells.db import instances as inst_db
from novamesh.cells.db import migrations as mig_db
from novamesh.cells.db import models
from novamesh.cells.hoststates import HostStates
from novamesh.cells.moves_alloc import MoveAllocations
from novamesh.cells.moves_base import Move, agent_spec, status
from novamesh.cells.registry import Cell
from novamesh.placement.v1 import placement_pb2, placement_pb2_grpc
from novamesh.scheduler.v1 import scheduler_pb2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

LOG = logging.getLogger(__name__)

# A live migration takes as long as its copy does; the source's agent answers when it ends
# (an agent that goes away fails it through the hub's reconnect grace).
LIVE_TIMEOUT = 6 * 3600.0

# A running agent forgets a guest at once; one that went away meanwhile is left to its restart.
FORGET_TIMEOUT = 60.0

# The first steps shared with resize: the allocation handed to the migration and the
# destination chosen; None when that failed (the move is already aborted).
Place = Callable[[Cell, Move, str], Awaitable[scheduler_pb2.Selection | None]]


class RemoteMoves:
    def __init__(
        self,
        core: Core,
        host_states: HostStates,
        placement: placement_pb2_grpc.PlacementServiceAsyncStub,
        alloc: MoveAllocations,
        place: Place,
        command_timeout: float,
    ) -> None:
        self._core = core
        self._host_states = host_states
        self._placement = placement
        self._alloc = alloc
        self._place = place
        self._timeout = command_timeout

    async def source_alive(self, session: AsyncSession, host: str | None) -> bool:
        """Nova evacuates only from a host whose service is down (or forced down)."""
        if not host:
            return False
        forced = await session.scalar(
            select(models.Service.forced_down).where(
                models.Service.host == host, models.Service.deleted.is_(False)
            )
        )
        return bool(self._core.hub.connected(host) and self._core.hub.is_up(host) and not forced)

    async def run_live(self, cell: Cell, move: Move, request_id: str) -> None:
        """Nova's statuses: queued, preparing (the destination is chosen), running (the source
        host copies the guest; its agent reports progress), then completed, failed, or
        cancelled when aborted (`live_migrations.LiveControl`). An abort of a queued or
        preparing migration sets `cancelled` itself; each step here moves on only from the
        status it expects, so such an abort is noticed at the next step."""
        uuid = move.instance.uuid
        if not await self._advance(cell, move, "preparing", ("queued",)):
            await self._end(cell, move, None)
            return
        selection = await self._place(cell, move, request_id)
        if selection is None:
            return
        dest, dest_node = selection.host, selection.nodename or selection.host
        running = await self._advance(
            cell, move, "running", ("preparing",), dest_compute=dest, dest_node=dest_node
        )
        if not running:
            await self._alloc.drop_instance(uuid)
            await self._alloc.give_back(uuid, move.migration_uuid, move.instance)
            await self._end(cell, move, None, dest)
            return
        outcome = await self._core.hub.call(
            move.source,
            agent_pb2.AgentCommand(
                live_migrate=agent_pb2.LiveMigrate(
                    instance=agent_spec(move.instance, move.old_flavor, dest_node),
                    dest_host=dest,
                    migration_uuid=move.migration_uuid,
                )
            ),
            max(self._timeout, LIVE_TIMEOUT),
        )
        if await self._deleted(cell, uuid):
            # Deleted while it moved: the delete released the instance's allocations, so
            # nothing is given back; the migration's own allocation goes too.
            await self._alloc.drop_instance(uuid)
            await self._core.quietly(
                self._placement.DeleteAllocations(
                    placement_pb2.DeleteAllocationsRequest(consumer_uuid=move.migration_uuid)
                ),
                f"releasing the allocation of migration {move.migration_uuid}",
            )
            await self._core.in_cell(cell, status(move.migration_uuid, "error"))
            return
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
            await self._arrived(move, dest, dest_node)
        else:
            await self._alloc.drop_instance(uuid)
            await self._alloc.give_back(uuid, move.migration_uuid, move.instance)
            cancelled = outcome.data.get("status") == "cancelled"
            await self._end(cell, move, "cancelled" if cancelled else "failed", dest)
            return
        await self._core.publish(cell, uuid)
        await self._host_states.changed(cell, move.source)
        await self._host_states.changed(cell, dest)

    async def _deleted(self, cell: Cell, uuid: str) -> bool:
        async def work(session: AsyncSession) -> bool:
            row = await inst_db.get_plain(session, uuid)
            return row is None or bool(row.deleted)

        return bool(await self._core.in_cell(cell, work))

    async def _advance(
        self, cell: Cell, move: Move, to: str, expected: tuple[str, ...], **values: Any
    ) -> bool:
        async def work(session: AsyncSession) -> bool:
            return await mig_db.set_status(
                session, move.migration_uuid, to, expected=expected, **values
            )

        return bool(await self._core.in_cell(cell, work))

    async def _end(self, cell: Cell, move: Move, status: str | None, dest: str = "") -> None:
        """The guest stays on its source: the task ends, the migration takes `status` (None:
        an abort already set it)."""
        uuid = move.instance.uuid

        async def work(session: AsyncSession) -> None:
            if status is not None:
                await mig_db.set_status(session, move.migration_uuid, status)
            await inst_db.update_fields(session, uuid, task_state=None)

        await self._core.in_cell(cell, work)
        await self._core.publish(cell, uuid)
        await self._host_states.changed(cell, move.source)
        if dest:
            await self._host_states.changed(cell, dest)

    async def _arrived(self, move: Move, dest: str, dest_node: str) -> None:
        """The destination's agent counts the guest at once (Nova's
        post_live_migration_at_destination); a failure here leaves it to the agent's next
        start, so it does not undo the move."""
        outcome = await self._core.hub.call(
            dest,
            agent_pb2.AgentCommand(
                post_live_migration_at_destination=agent_pb2.PostLiveMigrationAtDestination(
                    instance=agent_spec(move.instance, move.old_flavor, dest_node),
                    migration_uuid=move.migration_uuid,
                )
            ),
            self._timeout,
        )
        if not outcome.ok:
            LOG.warning(
                "destination %s did not take over live-migrated %s: %s",
                dest,
                move.instance.uuid,
                outcome.error,
            )

    async def run_evacuate(self, cell: Cell, move: Move, request_id: str) -> None:
        """Rebuild elsewhere: the source is down, so the guest is spawned anew on the target.
        The source's allocation is dropped at once (Nova keeps it until the source host comes
        back; here a dead host's allocation would only hide capacity)."""
        uuid = move.instance.uuid
        selection = await self._place(cell, move, request_id)
        if selection is None:
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
            await self._core.in_cell(cell, status(move.migration_uuid, "done"))
            await self._forget_at_source(move)
        else:
            await self._alloc.drop_instance(uuid)
            await self._alloc.give_back(uuid, move.migration_uuid, move.instance)

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
        await self._host_states.changed(cell, move.source)

    async def _forget_at_source(self, move: Move) -> None:
        """The source's agent may run on while its service is forced down: as Nova's resource
        tracker at its next update, it stops counting the guest now. The guest itself goes when
        that agent starts again (the migration stays `done` for `EvacuatedGuests`), so an agent
        that is not connected needs nothing now."""
        if not (move.source and self._core.hub.connected(move.source)):
            return
        outcome = await self._core.hub.call(
            move.source,
            agent_pb2.AgentCommand(
                forget_evacuated=host_events_pb2.ForgetEvacuated(
                    instance_uuid=move.instance.uuid, migration_uuid=move.migration_uuid
                )
            ),
            min(self._timeout, FORGET_TIMEOUT),
        )
        if not outcome.ok:
            LOG.warning(
                "source %s still counts evacuated %s until its agent restarts: %s",
                move.source,
                move.instance.uuid,
                outcome.error,
            )
