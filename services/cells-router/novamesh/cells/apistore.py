"""The router's reads and writes in the API database: mappings, build requests, request specs.

The two transitions that race (a build landing in a cell, a delete of a build that has not
landed) both start by deleting the build request: whoever deletes it wins, and the other sees
zero rows and backs off. That is what keeps a deleted build from leaving an instance behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from novamesh.common.apidb.models import (
    BuildRequest,
    CellMapping,
    HostMapping,
    InstanceMapping,
    RequestSpec,
    Volume,
)
from novamesh.common.db import transaction
from novamesh.scheduler.v1 import request_spec_pb2
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@dataclass(frozen=True)
class Mapping:
    instance_uuid: str
    cell_id: int | None
    project_id: str
    user_id: str
    queued_for_delete: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class PendingBuild:
    instance_uuid: str
    project_id: str
    instance: bytes
    tags: list[str]
    created_at: dt.datetime


class ApiStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def mapping(self, instance_uuid: str) -> Mapping | None:
        async with self.sessions() as s:
            row = await s.scalar(
                select(InstanceMapping).where(InstanceMapping.instance_uuid == instance_uuid)
            )
            return _mapping(row) if row is not None else None

    async def mappings_in_cells(self, cell_ids: list[int], project_id: str = "") -> list[Mapping]:
        query = select(InstanceMapping).where(
            InstanceMapping.cell_id.in_(cell_ids), InstanceMapping.queued_for_delete.is_(False)
        )
        if project_id:
            query = query.where(InstanceMapping.project_id == project_id)
        async with self.sessions() as s:
            return [_mapping(r) for r in (await s.scalars(query)).all()]

    async def build_request(self, instance_uuid: str) -> PendingBuild | None:
        async with self.sessions() as s:
            row = await s.scalar(
                select(BuildRequest).where(BuildRequest.instance_uuid == instance_uuid)
            )
            return _build(row) if row is not None else None

    async def build_requests(self, project_id: str = "") -> list[PendingBuild]:
        query = select(BuildRequest)
        if project_id:
            query = query.where(BuildRequest.project_id == project_id)
        async with self.sessions() as s:
            return [_build(r) for r in (await s.scalars(query)).all()]

    async def request_spec(self, instance_uuid: str) -> bytes | None:
        async with self.sessions() as s:
            return await s.scalar(
                select(RequestSpec.spec).where(RequestSpec.instance_uuid == instance_uuid)
            )

    async def land_build(self, instance_uuid: str, cell_id: int) -> bool:
        """Point the mapping at its cell and drop the build request, together.

        False when the build request is already gone (the server was deleted meanwhile).
        """
        async with transaction(self.sessions) as s:
            gone = await s.execute(
                delete(BuildRequest).where(BuildRequest.instance_uuid == instance_uuid)
            )
            if gone.rowcount != 1:  # type: ignore[attr-defined]
                return False
            await s.execute(
                update(InstanceMapping)
                .where(InstanceMapping.instance_uuid == instance_uuid)
                .values(cell_id=cell_id)
            )
            return True

    async def delete_build(self, instance_uuid: str) -> bool:
        """Delete a build that never landed: build request, request spec and mapping.

        False when there was no build request (it landed in a cell meanwhile).
        """
        async with transaction(self.sessions) as s:
            gone = await s.execute(
                delete(BuildRequest).where(BuildRequest.instance_uuid == instance_uuid)
            )
            if gone.rowcount != 1:  # type: ignore[attr-defined]
                return False
            await s.execute(delete(RequestSpec).where(RequestSpec.instance_uuid == instance_uuid))
            await s.execute(
                delete(InstanceMapping).where(InstanceMapping.instance_uuid == instance_uuid)
            )
            return True

    async def update_build(self, instance_uuid: str, instance: bytes, tags: list[str]) -> bool:
        async with transaction(self.sessions) as s:
            done = await s.execute(
                update(BuildRequest)
                .where(BuildRequest.instance_uuid == instance_uuid)
                .values(instance=instance, tags=tags)
            )
            return bool(done.rowcount == 1)  # type: ignore[attr-defined]

    async def queue_for_delete(self, instance_uuid: str) -> None:
        async with transaction(self.sessions) as s:
            await s.execute(
                update(InstanceMapping)
                .where(InstanceMapping.instance_uuid == instance_uuid)
                .values(queued_for_delete=True)
            )

    async def set_spec_flavor(self, instance_uuid: str, flavor: request_spec_pb2.Flavor) -> None:
        """Keep the request spec's flavor the instance's (a resize, its revert): what quotas
        count cores and RAM from, as Nova saves the request spec on resize."""
        async with transaction(self.sessions) as s:
            raw = await s.scalar(
                select(RequestSpec.spec).where(RequestSpec.instance_uuid == instance_uuid)
            )
            if raw is None:
                return
            spec = request_spec_pb2.RequestSpec.FromString(raw)
            spec.flavor.CopyFrom(flavor)
            await s.execute(
                update(RequestSpec)
                .where(RequestSpec.instance_uuid == instance_uuid)
                .values(spec=spec.SerializeToString())
            )

    async def release_volumes(self, instance_uuid: str, doomed: Sequence[str] = ()) -> None:
        """Give back the built-in store's volumes attached to a deleted instance; the doomed
        ones (delete_on_termination) are deleted instead."""
        async with transaction(self.sessions) as s:
            if doomed:
                await s.execute(
                    delete(Volume).where(
                        Volume.id.in_(list(doomed)), Volume.attached_server == instance_uuid
                    )
                )
            await s.execute(
                update(Volume)
                .where(Volume.attached_server == instance_uuid)
                .values(
                    status="available",
                    attached_server=None,
                    attached_device=None,
                    attachment_id=None,
                )
            )

    async def map_hosts(self, hosts: list[str], cell_id: int) -> list[str]:
        """Create the missing host mappings; returns hosts already mapped to another cell."""
        conflicts = []
        async with transaction(self.sessions) as s:
            existing = {
                m.host: m
                for m in (
                    await s.scalars(select(HostMapping).where(HostMapping.host.in_(hosts)))
                ).all()
            }
            for host in hosts:
                found = existing.get(host)
                if found is None:
                    s.add(HostMapping(host=host, cell_id=cell_id))
                elif found.cell_id != cell_id:
                    conflicts.append(host)
        return conflicts

    async def host_cell_uuid(self, host: str) -> str | None:
        async with self.sessions() as s:
            return await s.scalar(
                select(CellMapping.uuid)
                .join(HostMapping, HostMapping.cell_id == CellMapping.id)
                .where(HostMapping.host == host)
            )


def _mapping(row: InstanceMapping) -> Mapping:
    return Mapping(
        instance_uuid=row.instance_uuid,
        cell_id=row.cell_id,
        project_id=row.project_id,
        user_id=row.user_id or "",
        queued_for_delete=row.queued_for_delete,
        created_at=row.created_at,
    )


def _build(row: BuildRequest) -> PendingBuild:
    return PendingBuild(
        instance_uuid=row.instance_uuid,
        project_id=row.project_id,
        instance=row.instance,
        tags=list(row.tags or []),
        created_at=row.created_at,
    )
