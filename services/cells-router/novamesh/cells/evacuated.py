"""Guests evacuated away from a host while it was down, removed when its agent comes back.

As Nova's compute manager at init_host (_destroy_evacuated_instances): the evacuation
migrations whose source is one of the registering agent's hosts and that were accepted, are
under way (pre-migrating) or done name guests that must not run there any more; the agent
destroys each (with its local disks) and the migration becomes `completed`, so the next
start does not look at it again. The instance itself is left alone: it belongs to its new
host. (The source's placement allocation was already dropped when the evacuation ran.)
"""

from __future__ import annotations

import logging

from novamesh.agent.v1 import agent_pb2, host_events_pb2
from novamesh.cells.core import Core
from novamesh.cells.db import migrations as mig_db
from novamesh.cells.db import models
from novamesh.cells.registry import Cell
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

LOG = logging.getLogger(__name__)

STATUSES = ("accepted", "pre-migrating", "done")


class EvacuatedGuests:
    def __init__(self, core: Core, timeout: float = 60.0) -> None:
        self._core = core
        self._timeout = timeout

    async def clean(self, cell: Cell, hosts: list[str]) -> int:
        """Have the hosts' agent destroy their evacuated guests; how many were handled."""

        async def find(session: AsyncSession) -> list[tuple[str, str, str]]:
            rows = await session.execute(
                select(
                    models.Migration.uuid,
                    models.Migration.instance_uuid,
                    models.Migration.source_compute,
                ).where(
                    models.Migration.migration_type == "evacuation",
                    models.Migration.source_compute.in_(hosts),
                    models.Migration.status.in_(STATUSES),
                )
            )
            return [(m, i, s or "") for m, i, s in rows.all()]

        found: list[tuple[str, str, str]] = await self._core.in_cell(cell, find)
        handled = 0
        for migration_uuid, instance_uuid, host in found:
            command = agent_pb2.AgentCommand(
                destroy_evacuated=host_events_pb2.DestroyEvacuated(
                    instance_uuid=instance_uuid, migration_uuid=migration_uuid
                )
            )
            outcome = await self._core.hub.call(host, command, self._timeout)
            if not outcome.ok:
                LOG.warning(
                    "cannot remove evacuated guest %s from %s: %s",
                    instance_uuid,
                    host,
                    outcome.error,
                )
                continue

            async def completed(session: AsyncSession, uuid: str = migration_uuid) -> None:
                await mig_db.set_status(session, uuid, "completed", expected=STATUSES)

            await self._core.in_cell(cell, completed)
            handled += 1
            LOG.info("evacuated guest %s removed from %s", instance_uuid, host)
        return handled
