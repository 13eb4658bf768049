"""A running live migration steered from the API, and the progress its source host reports.

The migration itself runs in `moves_remote.RemoteMoves.run_live`: the source's agent answers
the LiveMigrate command when the guest has moved, was aborted (data status=cancelled) or
failed. Meanwhile this module stores the agent's progress reports on the migration record,
asks the agent to force the copy to converge, or aborts: a running migration on the host
(virDomainAbortJob), a queued or preparing one by setting `cancelled`, which run_live notices
at its next step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from novamesh.agent.v1 import agent_pb2, live_migration_pb2
from novamesh.cells.core import Conflict, Core, NotFound
from novamesh.cells.db import instances as inst_db
from novamesh.cells.db import migrations as mig_db
from novamesh.cells.db.queries import BadQuery
from novamesh.cells.registry import Cell
from novamesh.common import context
from sqlalchemy.ext.asyncio import AsyncSession

LOG = logging.getLogger(__name__)

# How long an agent may take to take a force-complete or abort request (not to finish it).
_CONTROL_TIMEOUT = 30.0
_QUEUED = ("queued", "preparing")


class BadMigrationState(BadQuery):
    """The migration is not in a state the request allows (HTTP 400, as Nova)."""


@dataclass(frozen=True)
class _Target:
    cell: Cell
    uuid: str
    source: str
    status: str
    migration_uuid: str


class LiveControl:
    def __init__(self, core: Core) -> None:
        self._core = core

    async def force_complete(self, instance_uuid: str, migration_id: int) -> str:
        target = await self._find(
            instance_uuid, migration_id, "force_complete", BadQuery, vm_states=("active",)
        )
        if target.status != "running":
            raise BadMigrationState(_bad_state(target, migration_id, "force complete"))
        await self._record(target, "live_migration_force_complete")
        await self._tell(
            target,
            agent_pb2.AgentCommand(
                live_migration_force_complete=live_migration_pb2.LiveMigrationForceComplete(
                    instance_uuid=target.uuid, migration_uuid=target.migration_uuid
                )
            ),
        )
        return target.status

    async def abort(self, instance_uuid: str, migration_id: int, allow_queued: bool) -> str:
        target = await self._find(instance_uuid, migration_id, "abort live migration", NotFound)
        allowed = ("running", *_QUEUED) if allow_queued else ("running",)
        if target.status not in allowed:
            raise BadMigrationState(_bad_state(target, migration_id, "abort live migration"))
        await self._record(target, "live_migration_cancel")
        if target.status in _QUEUED:

            async def cancel(session: AsyncSession) -> bool:
                return await mig_db.set_status(
                    session, target.migration_uuid, "cancelled", expected=_QUEUED
                )

            if await self._core.in_cell(target.cell, cancel):
                return "cancelled"
            # It started meanwhile: abort it on the host like any running one.
        await self._tell(
            target,
            agent_pb2.AgentCommand(
                live_migration_abort=live_migration_pb2.LiveMigrationAbort(
                    instance_uuid=target.uuid, migration_uuid=target.migration_uuid
                )
            ),
        )
        return "running"

    async def progress(self, report: live_migration_pb2.LiveMigrationProgress) -> None:
        """Store what the source host reported (only while the migration runs)."""
        try:
            _, cell = await self._core.locate(report.instance_uuid)
        except NotFound:
            return
        if cell is None:
            return
        counters = {
            f"{what}_{key}": getattr(report, f"{what}_{key}_bytes")
            for what in ("memory", "disk")
            for key in ("total", "processed", "remaining")
        }

        async def work(session: AsyncSession) -> None:
            await mig_db.set_progress(session, report.migration_uuid, **counters)

        await self._core.in_cell(cell, work)

    async def _find(
        self,
        instance_uuid: str,
        migration_id: int,
        method: str,
        missing: type[Exception],
        vm_states: tuple[str, ...] = (),
    ) -> _Target:
        """Nova's order: the server must be migrating (409), then the migration must be one
        of its own (force_complete answers 400 when it is not, abort 404)."""
        _, cell = await self._core.locate(instance_uuid)
        if cell is None:
            raise Conflict(
                f"Cannot '{method}' instance {instance_uuid} while it is in vm_state building"
            )

        async def work(session: AsyncSession) -> _Target:
            row = await inst_db.get_plain(session, instance_uuid)
            if row is None or row.deleted:
                raise NotFound(f"Instance {instance_uuid} could not be found.")
            if vm_states and row.vm_state not in vm_states:
                raise Conflict(
                    f"Cannot '{method}' instance {instance_uuid} while it is in vm_state "
                    f"{row.vm_state}"
                )
            if row.task_state != "migrating":
                raise Conflict(
                    f"Cannot '{method}' instance {instance_uuid} while it is in task_state "
                    f"{row.task_state}"
                )
            mig = await mig_db.for_instance(session, instance_uuid, migration_id)
            if mig is None or mig.migration_type != "live-migration":
                raise missing(f"Migration {migration_id} for instance {instance_uuid} not found")
            return _Target(
                cell, instance_uuid, mig.source_compute or "", mig.status or "", mig.uuid
            )

        found: _Target = await self._core.in_cell(cell, work)
        return found

    async def _record(self, target: _Target, action: str) -> None:
        ctx = context.current()

        async def work(session: AsyncSession) -> None:
            await inst_db.start_action(
                session,
                target.uuid,
                action,
                ctx.request_id if ctx else "",
                ctx.user_id if ctx else "",
                ctx.project_id if ctx else "",
            )

        await self._core.in_cell(target.cell, work)

    async def _tell(self, target: _Target, command: agent_pb2.AgentCommand) -> None:
        # Nova casts these to the source host: the API answers 202 whatever the host does
        # (a migration that ended meanwhile has nothing left to act on).
        outcome = await self._core.hub.call(target.source, command, _CONTROL_TIMEOUT)
        if not outcome.ok:
            LOG.warning(
                "live migration request not taken",
                extra={
                    "fields": {
                        "uuid": target.uuid,
                        "what": command.WhichOneof("body"),
                        "why": outcome.error,
                    }
                },
            )


def _bad_state(target: _Target, migration_id: int, method: str) -> str:
    return (
        f"Migration {migration_id} state of instance {target.uuid} is {target.status}. "
        f"Cannot {method} while the migration is in this state."
    )
