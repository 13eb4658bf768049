"""API database access for flavor extra specs and flavor access (one transaction per call)."""

from __future__ import annotations

from novamesh.common.apidb import models
from novamesh.common.db import transaction
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

Sessions = async_sessionmaker[AsyncSession]


class FlavorMissing(Exception):
    pass


class AccessExists(Exception):
    pass


class AccessMissing(Exception):
    pass


async def _flavor(session: AsyncSession, flavorid: str) -> models.Flavor:
    flavor = await session.scalar(select(models.Flavor).where(models.Flavor.flavorid == flavorid))
    if flavor is None:
        raise FlavorMissing(flavorid)
    return flavor


async def set_extra_specs(sessions: Sessions, flavorid: str, specs: dict[str, str]) -> None:
    """Add the keys, overwriting the values of those the flavor already has."""
    async with transaction(sessions) as session:
        flavor = await _flavor(session, flavorid)
        existing = {spec.key: spec for spec in flavor.extra_specs}
        for key, value in specs.items():
            if key in existing:
                existing[key].value = value
            else:
                flavor.extra_specs.append(models.FlavorExtraSpec(key=key, value=value))


async def delete_extra_spec(sessions: Sessions, flavorid: str, key: str) -> bool:
    """False when the flavor has no such key."""
    async with transaction(sessions) as session:
        flavor = await _flavor(session, flavorid)
        for spec in flavor.extra_specs:
            if spec.key == key:
                flavor.extra_specs.remove(spec)
                return True
        return False


async def add_access(sessions: Sessions, flavorid: str, project_id: str) -> list[str]:
    async with transaction(sessions) as session:
        flavor = await _flavor(session, flavorid)
        if any(p.project_id == project_id for p in flavor.projects):
            raise AccessExists(project_id)
        flavor.projects.append(models.FlavorProject(project_id=project_id))
        return [p.project_id for p in flavor.projects]


async def remove_access(sessions: Sessions, flavorid: str, project_id: str) -> list[str]:
    async with transaction(sessions) as session:
        flavor = await _flavor(session, flavorid)
        found = [p for p in flavor.projects if p.project_id == project_id]
        if not found:
            raise AccessMissing(project_id)
        flavor.projects.remove(found[0])
        return [p.project_id for p in flavor.projects]
