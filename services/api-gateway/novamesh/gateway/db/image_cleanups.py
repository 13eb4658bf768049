"""API database access for the image cleanup watches: add one, claim a gateway's share (its own
rows and any whose lease ran out), drop one, release a gateway's rows when it stops.

A claim is one UPDATE (atomic on SQLite and PostgreSQL: a row another gateway holds with a lease
still ahead is not matched) and one SELECT of what the caller now holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from novamesh.common.apidb import models
from novamesh.common.db import transaction, utcnow
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Watch:
    id: int
    image_id: str
    kind: str
    instance_uuid: str
    project_id: str
    give_up_at: dt.datetime


async def add(
    sessions: Sessions,
    *,
    image_id: str,
    kind: str,
    instance_uuid: str,
    project_id: str,
    watch_seconds: float,
    owner: str,
    lease_seconds: float,
) -> None:
    """Record a watch held by `owner`; a second watch of the same image and kind is a no-op."""
    now = utcnow()
    try:
        async with transaction(sessions) as session:
            session.add(
                models.ImageCleanup(
                    image_id=image_id,
                    kind=kind,
                    instance_uuid=instance_uuid,
                    project_id=project_id,
                    give_up_at=now + dt.timedelta(seconds=watch_seconds),
                    owner=owner,
                    lease_until=now + dt.timedelta(seconds=lease_seconds),
                )
            )
    except IntegrityError:
        pass  # already watched


async def claim(sessions: Sessions, owner: str, lease_seconds: float) -> list[Watch]:
    """Renew the lease on `owner`'s rows, take over the rows nobody holds, and return them."""
    now = utcnow()
    table = models.ImageCleanup
    async with transaction(sessions) as session:
        await session.execute(
            update(table)
            .where(
                or_(
                    table.owner == owner,
                    table.lease_until.is_(None),
                    table.lease_until < now,
                )
            )
            .values(owner=owner, lease_until=now + dt.timedelta(seconds=lease_seconds))
        )
    async with sessions() as session:
        rows = await session.scalars(select(table).where(table.owner == owner).order_by(table.id))
        return [
            Watch(r.id, r.image_id, r.kind, r.instance_uuid, r.project_id, r.give_up_at)
            for r in rows.all()
        ]


async def remove(sessions: Sessions, watch_id: int, owner: str) -> None:
    """Drop a finished watch (only while `owner` still holds it)."""
    async with transaction(sessions) as session:
        await session.execute(
            delete(models.ImageCleanup).where(
                models.ImageCleanup.id == watch_id, models.ImageCleanup.owner == owner
            )
        )


async def release(sessions: Sessions, owner: str) -> None:
    """Let any gateway take `owner`'s rows at once (it is stopping)."""
    async with transaction(sessions) as session:
        await session.execute(
            update(models.ImageCleanup)
            .where(models.ImageCleanup.owner == owner)
            .values(owner=None, lease_until=None)
        )
