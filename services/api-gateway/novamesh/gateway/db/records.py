"""API database access for the boot path: build requests, request specs, instance mappings.

A boot writes, per instance, the three records in ONE transaction (one commit round trip for
the whole request, whatever min_count is), and removes them again when the router refuses the
build, so no half-made server is left behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from novamesh.common.apidb import models
from novamesh.common.db import transaction
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@dataclass(frozen=True)
class BuildRecord:
    instance_uuid: str
    project_id: str
    user_id: str
    instance: bytes
    spec: bytes
    tags: Sequence[str] = ()


async def record_builds(
    sessions: async_sessionmaker[AsyncSession], records: Sequence[BuildRecord]
) -> None:
    async with transaction(sessions) as session:
        for rec in records:
            session.add(
                models.BuildRequest(
                    instance_uuid=rec.instance_uuid,
                    project_id=rec.project_id,
                    instance=rec.instance,
                    tags=list(rec.tags),
                )
            )
            session.add(models.RequestSpec(instance_uuid=rec.instance_uuid, spec=rec.spec))
            session.add(
                models.InstanceMapping(
                    instance_uuid=rec.instance_uuid,
                    cell_id=None,
                    project_id=rec.project_id,
                    user_id=rec.user_id,
                )
            )


async def forget_builds(
    sessions: async_sessionmaker[AsyncSession], instance_uuids: Sequence[str]
) -> None:
    uuids = list(instance_uuids)
    async with transaction(sessions) as session:
        for table in (models.BuildRequest, models.RequestSpec, models.InstanceMapping):
            await session.execute(delete(table).where(table.instance_uuid.in_(uuids)))
