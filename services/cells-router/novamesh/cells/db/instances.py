"""Reads and writes of instances and their children in one cell database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from novamesh.cells.db import models
from novamesh.common.db import utcnow
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.base import ExecutableOption

Inst = models.Instance

LOAD_ALL: Sequence[ExecutableOption] = (
    selectinload(Inst.extra),
    selectinload(Inst.info_cache),
    selectinload(Inst.metadata_items),
    selectinload(Inst.system_metadata),
    selectinload(Inst.tags),
    selectinload(Inst.faults),
    selectinload(Inst.block_device_mappings),
)

# Task states that mean disk or network Inst/O on the host (the scheduler's IoOpsFilter).
IO_TASK_STATES = (
    "spawning",
    "resize_migrating",
    "rebuilding",
    "resize_prep",
    "image_snapshot",
    "image_backup",
    "rescuing",
    "unshelving",
)


async def get(session: AsyncSession, uuid: str, include_deleted: bool = False) -> Inst | None:
    query = select(Inst).where(Inst.uuid == uuid).options(*LOAD_ALL)
    if not include_deleted:
        query = query.where(Inst.deleted.is_(False))
    return await session.scalar(query)


async def get_plain(session: AsyncSession, uuid: str) -> Inst | None:
    """The row alone (no children), deleted or not: for state checks and updates."""
    return await session.scalar(select(Inst).where(Inst.uuid == uuid))


async def update_fields(session: AsyncSession, uuid: str, **values: Any) -> int:
    values.setdefault("updated_at", utcnow())
    result = await session.execute(update(Inst).where(Inst.uuid == uuid).values(**values))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def compare_and_set(
    session: AsyncSession,
    uuid: str,
    expected_vm_states: Sequence[str],
    expected_task_states: Sequence[str | None],
    **values: Any,
) -> bool:
    """Update only while the states are still the expected ones (empty: any)."""
    query = update(Inst).where(Inst.uuid == uuid, Inst.deleted.is_(False))
    if expected_vm_states:
        query = query.where(Inst.vm_state.in_(expected_vm_states))
    if expected_task_states:
        named = [t for t in expected_task_states if t]
        if None in expected_task_states or "" in expected_task_states:
            query = query.where(Inst.task_state.in_(named) | Inst.task_state.is_(None))
        else:
            query = query.where(Inst.task_state.in_(named))
    values.setdefault("updated_at", utcnow())
    result = await session.execute(query.values(**values))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def soft_delete(session: AsyncSession, uuid: str) -> None:
    now = utcnow()
    await session.execute(
        update(Inst)
        .where(Inst.uuid == uuid)
        .values(
            deleted=True,
            deleted_at=now,
            terminated_at=now,
            updated_at=now,
            vm_state="deleted",
            task_state=None,
            power_state=0,
        )
    )


async def hard_delete(session: AsyncSession, uuid: str) -> None:
    """Remove every trace of an instance that was never visible in this cell."""
    actions = select(models.InstanceAction.id).where(models.InstanceAction.instance_uuid == uuid)
    await session.execute(
        delete(models.InstanceActionEvent).where(models.InstanceActionEvent.action_id.in_(actions))
    )
    await session.execute(
        delete(models.InstanceAction).where(models.InstanceAction.instance_uuid == uuid)
    )
    for child in (
        models.InstanceExtra,
        models.InstanceInfoCache,
        models.InstanceMetadata,
        models.InstanceSystemMetadata,
        models.InstanceFault,
        models.BlockDeviceMapping,
    ):
        await session.execute(delete(child).where(child.instance_uuid == uuid))
    await session.execute(delete(models.Tag).where(models.Tag.instance_uuid == uuid))
    await session.execute(delete(Inst).where(Inst.uuid == uuid))


async def add_fault(
    session: AsyncSession,
    uuid: str,
    code: int,
    message: str,
    details: str = "",
    host: str | None = None,
) -> None:
    session.add(
        models.InstanceFault(
            instance_uuid=uuid, code=code, message=message, details=details or None, host=host
        )
    )


async def set_network_info(session: AsyncSession, uuid: str, info: list[dict[str, Any]]) -> None:
    cache = await session.scalar(
        select(models.InstanceInfoCache).where(models.InstanceInfoCache.instance_uuid == uuid)
    )
    if cache is None:
        session.add(models.InstanceInfoCache(instance_uuid=uuid, network_info=info))
    else:
        cache.network_info = info


async def start_action(
    session: AsyncSession,
    uuid: str,
    action: str,
    request_id: str,
    user_id: str,
    project_id: str,
) -> models.InstanceAction:
    row = models.InstanceAction(
        action=action,
        instance_uuid=uuid,
        request_id=request_id or None,
        user_id=user_id or None,
        project_id=project_id or None,
    )
    session.add(row)
    await session.flush()
    return row


async def record_event(
    session: AsyncSession,
    uuid: str,
    event: str,
    result: str,
    host: str | None = None,
    details: str = "",
    action: str | None = None,
) -> None:
    """Finish `event` on the instance's newest action (or on the newest `action` of that name)."""
    query = select(models.InstanceAction).where(models.InstanceAction.instance_uuid == uuid)
    if action is not None:
        query = query.where(models.InstanceAction.action == action)
    found = await session.scalar(query.order_by(models.InstanceAction.id.desc()).limit(1))
    if found is None:
        return
    now = utcnow()
    open_event = await session.scalar(
        select(models.InstanceActionEvent).where(
            models.InstanceActionEvent.action_id == found.id,
            models.InstanceActionEvent.event == event,
            models.InstanceActionEvent.finish_time.is_(None),
        )
    )
    if open_event is None:
        open_event = models.InstanceActionEvent(action_id=found.id, event=event, start_time=now)
        session.add(open_event)
    open_event.result = result
    open_event.finish_time = now
    open_event.host = host
    open_event.details = details or None
    if result == "Error":
        found.message = "Error"
    found.finish_time = now


async def host_instances(
    session: AsyncSession, host: str
) -> list[tuple[str, str | None, str | None]]:
    """(uuid, vm_state, task_state) of the live instances on a host."""
    rows = await session.execute(
        select(Inst.uuid, Inst.vm_state, Inst.task_state).where(
            Inst.host == host, Inst.deleted.is_(False)
        )
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def count_live(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).where(Inst.deleted.is_(False))) or 0)


def is_io_op(vm_state: str | None, task_state: str | None) -> bool:
    return vm_state == "building" or task_state in IO_TASK_STATES
