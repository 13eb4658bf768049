"""The built-in volume record store in the API database.

Status changes are compare-and-set (`move`): an attach claims an available volume in one
UPDATE, so two servers never attach the same volume. Every call is one query or one
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from novamesh.common.apidb import models
from novamesh.common.db import transaction
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

V = models.Volume
Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class NewVolume:
    id: str
    project_id: str
    user_id: str
    size: int
    display_name: str | None = None
    display_description: str | None = None
    volume_type: str | None = None
    availability_zone: str | None = None
    snapshot_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    # A boot creates its new volumes already attached to its server.
    status: str = "available"
    attached_server: str | None = None
    attached_device: str | None = None
    attachment_id: str | None = None
    bootable: bool = False
    image_metadata: dict[str, str] | None = None


async def create(sessions: Sessions, new: NewVolume) -> models.Volume:
    async with transaction(sessions) as session:
        row = V(
            id=new.id,
            project_id=new.project_id,
            user_id=new.user_id,
            size=new.size,
            display_name=new.display_name,
            display_description=new.display_description,
            volume_type=new.volume_type,
            availability_zone=new.availability_zone,
            snapshot_id=new.snapshot_id,
            properties=dict(new.metadata),
            status=new.status,
            attached_server=new.attached_server,
            attached_device=new.attached_device,
            attachment_id=new.attachment_id,
            bootable=new.bootable,
            image_metadata=new.image_metadata,
        )
        session.add(row)
    return row


async def get(sessions: Sessions, volume_id: str) -> models.Volume | None:
    async with sessions() as session:
        return await session.get(V, volume_id)


async def list_volumes(
    sessions: Sessions, project_id: str | None, limit: int, offset: int
) -> Sequence[models.Volume]:
    query = select(V).order_by(V.created_at, V.id).offset(offset).limit(limit)
    if project_id is not None:
        query = query.where(V.project_id == project_id)
    async with sessions() as session:
        return list(await session.scalars(query))


async def move(sessions: Sessions, volume_id: str, expected: str, **values: Any) -> bool:
    """Set `values` (status included) only if the volume's status is still `expected`."""
    async with transaction(sessions) as session:
        result = await session.execute(
            update(V).where(V.id == volume_id, V.status == expected).values(**values)
        )
    return bool(getattr(result, "rowcount", 0))


async def remove(sessions: Sessions, volume_id: str, expected_status: str) -> bool:
    async with transaction(sessions) as session:
        result = await session.execute(
            delete(V).where(V.id == volume_id, V.status == expected_status)
        )
    return bool(getattr(result, "rowcount", 0))
