"""The cell's compute services and compute nodes."""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from collections.abc import Callable

from novamesh.cells.db import models
from novamesh.common.db import utcnow
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

COMPUTE_BINARY = "nova-compute"


async def upsert_service(session: AsyncSession, host: str, version: str) -> models.Service:
    svc = await session.scalar(
        select(models.Service).where(
            models.Service.host == host, models.Service.binary == COMPUTE_BINARY
        )
    )
    now = utcnow()
    if svc is None:
        svc = models.Service(
            uuid=str(uuidlib.uuid4()),
            host=host,
            binary=COMPUTE_BINARY,
            topic="compute",
            report_count=0,
        )
        session.add(svc)
    svc.deleted = False
    svc.deleted_at = None
    svc.version = version or svc.version
    svc.last_seen_up = now
    svc.report_count = (svc.report_count or 0) + 1
    return svc


async def upsert_node(
    session: AsyncSession,
    host: str,
    nodename: str,
    node_uuid: str,
    apply: Callable[[models.ComputeNode], None],
) -> models.ComputeNode:
    node = await session.scalar(
        select(models.ComputeNode).where(
            models.ComputeNode.host == host, models.ComputeNode.hypervisor_hostname == nodename
        )
    )
    if node is None and node_uuid:
        node = await session.scalar(
            select(models.ComputeNode).where(models.ComputeNode.uuid == node_uuid)
        )
    if node is None:
        node = models.ComputeNode(
            uuid=node_uuid or str(uuidlib.uuid4()), host=host, hypervisor_hostname=nodename
        )
        session.add(node)
    node.deleted = False
    node.deleted_at = None
    apply(node)
    return node


async def mark_mapped(session: AsyncSession, hosts: list[str]) -> None:
    await session.execute(
        update(models.ComputeNode).where(models.ComputeNode.host.in_(hosts)).values(mapped=True)
    )


async def heartbeat(session: AsyncSession, hosts: list[str], at: dt.datetime) -> None:
    await session.execute(
        update(models.Service)
        .where(models.Service.host.in_(hosts), models.Service.binary == COMPUTE_BINARY)
        .values(last_seen_up=at, report_count=models.Service.report_count + 1)
    )


async def nodes(
    session: AsyncSession, host: str | None = None
) -> list[tuple[models.ComputeNode, models.Service | None]]:
    """Live compute nodes with their compute service (by host)."""
    query = (
        select(models.ComputeNode, models.Service)
        .outerjoin(
            models.Service,
            (models.Service.host == models.ComputeNode.host)
            & (models.Service.binary == COMPUTE_BINARY)
            & models.Service.deleted.is_(False),
        )
        .where(models.ComputeNode.deleted.is_(False))
        .order_by(models.ComputeNode.host, models.ComputeNode.hypervisor_hostname)
    )
    if host is not None:
        query = query.where(models.ComputeNode.host == host)
    return [(row[0], row[1]) for row in await session.execute(query)]


async def service(session: AsyncSession, host: str) -> models.Service | None:
    return await session.scalar(
        select(models.Service).where(
            models.Service.host == host,
            models.Service.binary == COMPUTE_BINARY,
            models.Service.deleted.is_(False),
        )
    )


async def services(
    session: AsyncSession, binary: str = "", host: str = ""
) -> list[tuple[models.Service, str | None]]:
    """Live services with the availability zone their compute node reports."""
    zone = (
        select(models.ComputeNode.availability_zone)
        .where(
            models.ComputeNode.host == models.Service.host,
            models.ComputeNode.deleted.is_(False),
        )
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(models.Service, zone)
        .where(models.Service.deleted.is_(False))
        .order_by(models.Service.id)
    )
    if binary:
        query = query.where(models.Service.binary == binary)
    if host:
        query = query.where(models.Service.host == host)
    return [(row[0], row[1]) for row in await session.execute(query)]


async def retire_service(session: AsyncSession, svc: models.Service) -> None:
    """Soft-delete a service and its host's compute nodes."""
    now = utcnow()
    svc.deleted, svc.deleted_at = True, now
    await session.execute(
        update(models.ComputeNode)
        .where(models.ComputeNode.host == svc.host, models.ComputeNode.deleted.is_(False))
        .values(deleted=True, deleted_at=now)
    )
