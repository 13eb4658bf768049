"""Migration records of a cell (resize, cold migration) and reads of instance actions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from novamesh.cells.db import models
from novamesh.common.db import utcnow
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

Mig = models.Migration
Action = models.InstanceAction
ActionEvent = models.InstanceActionEvent

# A move that still holds resources on both hosts, or is about to.
IN_PROGRESS = (
    "pre-migrating",
    "migrating",
    "post-migrating",
    "finished",
    "confirming",
    "reverting",
)

_FILTERS = {
    "instance_uuid": Mig.instance_uuid,
    "status": Mig.status,
    "migration_type": Mig.migration_type,
    "source_compute": Mig.source_compute,
    "project_id": Mig.project_id,
    "user_id": Mig.user_id,
}


async def create(session: AsyncSession, **values: Any) -> Mig:
    row = Mig(**values)
    session.add(row)
    await session.flush()
    return row


async def get(session: AsyncSession, uuid: str) -> Mig | None:
    return await session.scalar(select(Mig).where(Mig.uuid == uuid))


async def latest(
    session: AsyncSession, instance_uuid: str, statuses: Sequence[str] = IN_PROGRESS
) -> Mig | None:
    """The instance's newest move in one of `statuses`."""
    return await session.scalar(
        select(Mig)
        .where(Mig.instance_uuid == instance_uuid, Mig.status.in_(statuses))
        .order_by(Mig.id.desc())
        .limit(1)
    )


async def set_status(
    session: AsyncSession, uuid: str, status: str, expected: Sequence[str] = (), **values: Any
) -> bool:
    """Move a migration to `status` (only from one of `expected`, when given)."""
    query = update(Mig).where(Mig.uuid == uuid)
    if expected:
        query = query.where(Mig.status.in_(expected))
    result = await session.execute(query.values(status=status, updated_at=utcnow(), **values))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def due_for_confirm(session: AsyncSession, older_than: dt.datetime) -> list[Mig]:
    rows = await session.scalars(
        select(Mig).where(
            Mig.status == "finished",
            Mig.migration_type.in_(("resize", "migration")),
            Mig.updated_at < older_than,
        )
    )
    return list(rows.all())


async def search(
    session: AsyncSession,
    filters: dict[str, str],
    changes_since: dt.datetime | None = None,
    changes_before: dt.datetime | None = None,
) -> list[Mig]:
    """Newest first. Unknown filter names are ignored (the API validated them)."""
    query = select(Mig).where(Mig.deleted.is_(False))
    for key, value in filters.items():
        if key == "host":
            query = query.where(or_(Mig.source_compute == value, Mig.dest_compute == value))
        elif key in _FILTERS:
            query = query.where(_FILTERS[key] == value)
    if changes_since is not None:
        query = query.where(Mig.updated_at >= changes_since)
    if changes_before is not None:
        query = query.where(Mig.updated_at <= changes_before)
    rows = await session.scalars(query.order_by(Mig.created_at.desc(), Mig.id.desc()))
    return list(rows.all())


async def actions(
    session: AsyncSession,
    instance_uuid: str,
    changes_since: dt.datetime | None = None,
    changes_before: dt.datetime | None = None,
) -> list[Action]:
    """An instance's actions, newest first (Nova orders by created_at, then id)."""
    query = select(Action).where(Action.instance_uuid == instance_uuid)
    if changes_since is not None:
        query = query.where(Action.updated_at >= changes_since)
    if changes_before is not None:
        query = query.where(Action.updated_at <= changes_before)
    rows = await session.scalars(query.order_by(Action.created_at.desc(), Action.id.desc()))
    return list(rows.all())


async def action(session: AsyncSession, instance_uuid: str, request_id: str) -> Action | None:
    return await session.scalar(
        select(Action)
        .where(Action.instance_uuid == instance_uuid, Action.request_id == request_id)
        .order_by(Action.id.desc())
        .limit(1)
    )


async def events(session: AsyncSession, action_id: int) -> list[ActionEvent]:
    rows = await session.scalars(
        select(ActionEvent).where(ActionEvent.action_id == action_id).order_by(ActionEvent.id)
    )
    return list(rows.all())


async def set_flavor(
    session: AsyncSession, instance_uuid: str, flavor: dict[str, Any], flavor_id: str | None
) -> None:
    """The instance's flavor (a resize changes it at finish, a revert puts it back)."""
    extra = await session.scalar(
        select(models.InstanceExtra).where(models.InstanceExtra.instance_uuid == instance_uuid)
    )
    if extra is None:
        session.add(models.InstanceExtra(instance_uuid=instance_uuid, flavor=flavor))
    else:
        extra.flavor = flavor
    await session.execute(
        update(models.Instance)
        .where(models.Instance.uuid == instance_uuid)
        .values(flavor_id=flavor_id, updated_at=utcnow())
    )


async def set_system_metadata(
    session: AsyncSession, instance_uuid: str, **items: str | None
) -> None:
    """Set (or, with None, remove) system metadata keys of an instance."""
    meta = models.InstanceSystemMetadata
    for key, value in items.items():
        await session.execute(
            delete(meta).where(meta.instance_uuid == instance_uuid, meta.key == key)
        )
        if value is not None:
            session.add(meta(instance_uuid=instance_uuid, key=key, value=value))
    await session.flush()


async def system_metadata(session: AsyncSession, instance_uuid: str) -> dict[str, str]:
    meta = models.InstanceSystemMetadata
    rows = await session.execute(
        select(meta.key, meta.value).where(meta.instance_uuid == instance_uuid)
    )
    return {k: v for k, v in rows.all()}


async def shelved_before(session: AsyncSession, cutoff: dt.datetime) -> list[str]:
    """Instances shelved (not offloaded) since before `cutoff`."""
    rows = await session.scalars(
        select(models.Instance.uuid).where(
            models.Instance.vm_state == "shelved",
            models.Instance.task_state.is_(None),
            models.Instance.deleted.is_(False),
            models.Instance.updated_at < cutoff,
        )
    )
    return list(rows.all())


async def for_instance(session: AsyncSession, instance_uuid: str, migration_id: int) -> Mig | None:
    """A migration of the instance by the id the API shows (a server's migrations)."""
    return await session.scalar(
        select(Mig).where(
            Mig.id == migration_id, Mig.instance_uuid == instance_uuid, Mig.deleted.is_(False)
        )
    )


async def set_progress(session: AsyncSession, uuid: str, **counters: int) -> bool:
    """A running live migration's progress counters (memory_total=..., disk_remaining=...)."""
    result = await session.execute(
        update(Mig)
        .where(Mig.uuid == uuid, Mig.status == "running")
        .values(updated_at=utcnow(), **counters)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
