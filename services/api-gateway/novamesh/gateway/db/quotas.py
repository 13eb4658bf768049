"""API database access for quotas: limits set per project, per user and per class, and the
usage they are checked against, counted from the API database's own records.

Usage: instances are the project's instance mappings not queued for delete; cores and RAM come
from the flavor in each one's request spec (so a counted instance is one the API knows about,
built, building or buried in cell0, as Nova counts them). The caller may name instances to leave
out (the soft-deleted ones, which only the cells know). One query per count.
"""

from __future__ import annotations

from dataclasses import dataclass

from novamesh.common.apidb import models
from novamesh.common.db import transaction
from novamesh.scheduler.v1 import request_spec_pb2
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class InstanceUsage:
    instances: int = 0
    cores: int = 0
    ram: int = 0


async def project_limits(sessions: Sessions, project_id: str, user_id: str = "") -> dict[str, int]:
    project, user = await project_and_user_limits(sessions, project_id, user_id)
    return {**project, **user}


async def project_and_user_limits(
    sessions: Sessions, project_id: str, user_id: str
) -> tuple[dict[str, int], dict[str, int]]:
    """The project's own limits and the user's own limits within it, in one query."""
    async with sessions() as session:
        rows = await session.execute(
            select(models.Quota.user_id, models.Quota.resource, models.Quota.hard_limit).where(
                models.Quota.project_id == project_id, models.Quota.user_id.in_(("", user_id))
            )
        )
        project: dict[str, int] = {}
        user: dict[str, int] = {}
        for owner, resource, limit in rows.all():
            (user if owner and owner == user_id else project)[resource] = limit
        return project, user


async def class_limits(sessions: Sessions, class_name: str) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            select(models.QuotaClass.resource, models.QuotaClass.hard_limit).where(
                models.QuotaClass.class_name == class_name
            )
        )
        return {resource: limit for resource, limit in rows.all()}


async def set_project_limits(
    sessions: Sessions, project_id: str, user_id: str, limits: dict[str, int]
) -> None:
    async with transaction(sessions) as session:
        existing = {
            q.resource: q
            for q in (
                await session.scalars(
                    select(models.Quota).where(
                        models.Quota.project_id == project_id, models.Quota.user_id == user_id
                    )
                )
            ).all()
        }
        for resource, limit in limits.items():
            if resource in existing:
                existing[resource].hard_limit = limit
            else:
                session.add(
                    models.Quota(
                        project_id=project_id, user_id=user_id, resource=resource, hard_limit=limit
                    )
                )


async def delete_project_limits(sessions: Sessions, project_id: str, user_id: str) -> None:
    """Forget the user's limits, or with no user the project's and all its users'."""
    async with transaction(sessions) as session:
        stmt = delete(models.Quota).where(models.Quota.project_id == project_id)
        if user_id:
            stmt = stmt.where(models.Quota.user_id == user_id)
        await session.execute(stmt)


async def set_class_limits(sessions: Sessions, class_name: str, limits: dict[str, int]) -> None:
    async with transaction(sessions) as session:
        existing = {
            q.resource: q
            for q in (
                await session.scalars(
                    select(models.QuotaClass).where(models.QuotaClass.class_name == class_name)
                )
            ).all()
        }
        for resource, limit in limits.items():
            if resource in existing:
                existing[resource].hard_limit = limit
            else:
                session.add(
                    models.QuotaClass(class_name=class_name, resource=resource, hard_limit=limit)
                )


async def instance_usage(
    sessions: Sessions,
    project_id: str,
    user_id: str = "",
    exclude: frozenset[str] = frozenset(),
) -> InstanceUsage:
    project, user = await instance_usage_with_user(sessions, project_id, user_id, exclude)
    return user if user_id else project


async def instance_usage_with_user(
    sessions: Sessions, project_id: str, user_id: str, exclude: frozenset[str] = frozenset()
) -> tuple[InstanceUsage, InstanceUsage]:
    """The project's instance usage and the user's share of it, in one query; the instances
    named in `exclude` are not counted."""
    async with sessions() as session:
        rows = await session.execute(
            select(
                models.InstanceMapping.instance_uuid,
                models.InstanceMapping.user_id,
                models.RequestSpec.spec,
            )
            .join(
                models.InstanceMapping,
                models.InstanceMapping.instance_uuid == models.RequestSpec.instance_uuid,
            )
            .where(
                models.InstanceMapping.project_id == project_id,
                models.InstanceMapping.queued_for_delete.is_(False),
            )
        )
        specs = rows.all()
    totals = [0, 0, 0]
    mine = [0, 0, 0]
    for uuid, owner, raw in specs:
        if uuid in exclude:
            continue
        flavor = request_spec_pb2.RequestSpec.FromString(raw).flavor
        for bucket in (totals, mine) if owner == user_id else (totals,):
            bucket[0] += 1
            bucket[1] += flavor.vcpus
            bucket[2] += flavor.memory_mb
    return InstanceUsage(*totals), InstanceUsage(*mine)


async def keypair_count(sessions: Sessions, user_id: str) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(models.KeyPair)
            .where(models.KeyPair.user_id == user_id)
        )
        return int(count or 0)


async def server_group_count(sessions: Sessions, project_id: str, user_id: str = "") -> int:
    async with sessions() as session:
        stmt = (
            select(func.count())
            .select_from(models.InstanceGroup)
            .where(models.InstanceGroup.project_id == project_id)
        )
        if user_id:
            stmt = stmt.where(models.InstanceGroup.user_id == user_id)
        return int(await session.scalar(stmt) or 0)
