"""The compute services of every cell: list (with up/down), enable/disable/force down, delete.

Up means: not forced down, and the host was heard from within two heartbeat intervals (any
message of its agent counts: the shared heartbeat store, this router's own channel, or the
service's last_seen_up for agents held by another router replica).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from novamesh.cells.core import Conflict, Core, NotFound, Unavailable
from novamesh.cells.db import hosts as hosts_db
from novamesh.cells.db import instances as inst_db
from novamesh.cells.db import models
from novamesh.cells.registry import Cell
from novamesh.common.apidb.models import HostMapping
from novamesh.common.db import transaction, utcnow
from novamesh.common.redisstore import Heartbeats
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

LOG = logging.getLogger(__name__)

# Where Nova puts computes with no zone; the others are in the internal zone.
DEFAULT_ZONE = "nova"
INTERNAL_ZONE = "internal"


class BadRef(ValueError):
    """A service reference that names more than one service (HTTP 400)."""


@dataclass(frozen=True)
class ServiceInfo:
    uuid: str
    id: int
    binary: str
    host: str
    zone: str
    disabled: bool
    disabled_reason: str | None
    forced_down: bool
    up: bool
    updated_at: dt.datetime | None
    cell_uuid: str
    unreachable: bool = False


@dataclass(frozen=True)
class Ref:
    """Exactly one of: uuid, (host, binary), id."""

    uuid: str = ""
    host: str = ""
    binary: str = ""
    id: int = 0


@dataclass(frozen=True)
class Change:
    disabled: bool | None = None
    disabled_reason: str | None = None
    forced_down: bool | None = None
    # Whether disabled_reason was given (a None reason clears it).
    set_reason: bool = False


class Services:
    def __init__(
        self,
        core: Core,
        heartbeats: Heartbeats | None,
        changed: Callable[[Cell, str], Awaitable[None]] | None = None,
    ) -> None:
        self._core = core
        self._heartbeats = heartbeats
        # Tells the scheduler's host-state feed (a disabled host takes no new builds).
        self._changed = changed

    @property
    def _limit(self) -> dt.timedelta:
        return dt.timedelta(seconds=2 * self._core.heartbeat_interval)

    def _cells(self) -> list[Cell]:
        # cell0 holds the control plane's rows (nova-conductor, nova-scheduler), never computes.
        return list(self._core.registry.all())

    async def list_all(
        self, binary: str = "", host: str = ""
    ) -> tuple[list[ServiceInfo], list[str]]:
        async def one(cell: Cell) -> list[ServiceInfo]:
            async def work(session: AsyncSession) -> list[tuple[models.Service, str | None]]:
                return await hosts_db.services(session, binary, host)

            rows = await self._core.in_cell(cell, work, self._core.list_timeout)
            return [_info(svc, zone, cell, self._limit) for svc, zone in rows]

        cells = self._cells()
        results = await asyncio.gather(*(one(c) for c in cells), return_exceptions=True)
        out: list[ServiceInfo] = []
        unreachable: list[str] = []
        for cell, result in zip(cells, results, strict=True):
            if isinstance(result, BaseException):
                LOG.warning("cell %s left out of the service list: %s", cell.label, result)
                unreachable.append(cell.uuid)
                out.extend(await self._mapped_hosts(cell, binary, host))
            else:
                out.extend(result)
        return await self._with_liveness(out), unreachable

    async def update(self, ref: Ref, change: Change) -> ServiceInfo:
        cell, found = await self._find(ref)

        async def work(session: AsyncSession) -> tuple[models.Service, str | None]:
            svc = await session.get(models.Service, found.id)
            if svc is None or svc.deleted:
                raise NotFound(_not_found(ref))
            if change.disabled is not None:
                svc.disabled = change.disabled
                if not change.disabled:
                    svc.disabled_reason = None
            if change.set_reason:
                svc.disabled_reason = change.disabled_reason
            if change.forced_down is not None:
                svc.forced_down = change.forced_down
            svc.updated_at = utcnow()
            return svc, found.zone

        svc, zone = await self._core.in_cell(cell, work)
        if self._changed is not None:
            await self._changed(cell, svc.host)
        (info,) = await self._with_liveness([_info(svc, zone, cell, self._limit)])
        return info

    async def delete(self, ref: Ref) -> None:
        cell, found = await self._find(ref)

        async def work(session: AsyncSession) -> None:
            svc = await session.get(models.Service, found.id)
            if svc is None or svc.deleted:
                raise NotFound(_not_found(ref))
            on_host = await inst_db.host_instances(session, svc.host)
            if svc.binary == hosts_db.COMPUTE_BINARY and on_host:
                raise Conflict(
                    "Unable to delete compute service that is hosting instances. Migrate "
                    "or delete the instances first."
                )
            await hosts_db.retire_service(session, svc)

        await self._core.in_cell(cell, work)
        if found.binary == hosts_db.COMPUTE_BINARY:
            async with transaction(self._core.api.sessions) as s:
                await s.execute(delete(HostMapping).where(HostMapping.host == found.host))
            if self._heartbeats is not None:
                await Core.quietly(self._heartbeats.forget(found.host), "forgetting a heartbeat")

    async def _find(self, ref: Ref) -> tuple[Cell, ServiceInfo]:
        binary = ref.binary if ref.host else ""
        found, unreachable = await self.list_all(binary, ref.host)
        live = [s for s in found if not s.unreachable]
        if ref.uuid:
            live = [s for s in live if s.uuid == ref.uuid]
        elif ref.id:
            live = [s for s in live if s.id == ref.id]
        if len(live) > 1:
            raise BadRef(f"Service id {ref.id} refers to multiple services.")
        if not live:
            if unreachable:
                raise Unavailable("A cell that may hold the service did not answer.")
            raise NotFound(_not_found(ref))
        return await self._core.cell_by_uuid(live[0].cell_uuid), live[0]

    async def _mapped_hosts(self, cell: Cell, binary: str, host: str) -> list[ServiceInfo]:
        """What the API database knows about a dark cell's services: their hosts."""
        if binary and binary != hosts_db.COMPUTE_BINARY:
            return []
        async with self._core.api.sessions() as s:
            query = select(HostMapping.host).where(HostMapping.cell_id == cell.id)
            if host:
                query = query.where(HostMapping.host == host)
            hosts = sorted((await s.scalars(query)).all())
        return [
            ServiceInfo(
                "", 0, hosts_db.COMPUTE_BINARY, h, "", False, None, False, False, None,
                cell.uuid, unreachable=True,
            )
            for h in hosts
        ]  # fmt: skip

    async def _with_liveness(self, found: list[ServiceInfo]) -> list[ServiceInfo]:
        hosts = sorted({s.host for s in found if not s.unreachable})
        shared: dict[str, bool] = {}
        if self._heartbeats is not None and hosts:
            try:
                shared = await self._heartbeats.alive(hosts)
            except Exception as exc:
                LOG.warning("heartbeat store unavailable: %s", exc)
        out = []
        for s in found:
            if s.unreachable:
                out.append(s)
                continue
            # s.up so far says whether the database saw it recently.
            heard = shared.get(s.host) or self._core.hub.is_up(s.host) or s.up
            out.append(replace(s, up=not s.forced_down and heard))
        return out


def _info(svc: models.Service, zone: str | None, cell: Cell, limit: dt.timedelta) -> ServiceInfo:
    seen = svc.last_seen_up
    return ServiceInfo(
        uuid=svc.uuid,
        id=svc.id,
        binary=svc.binary,
        host=svc.host,
        zone=(zone or DEFAULT_ZONE) if svc.binary == hosts_db.COMPUTE_BINARY else INTERNAL_ZONE,
        disabled=bool(svc.disabled),
        disabled_reason=svc.disabled_reason,
        forced_down=bool(svc.forced_down),
        up=seen is not None and utcnow() - seen < limit,
        # Nova's updated_at of a compute service moves with every report.
        updated_at=svc.last_seen_up or svc.updated_at,
        cell_uuid=cell.uuid,
    )


def _not_found(ref: Ref) -> str:
    if ref.uuid:
        return f"Service {ref.uuid} could not be found."
    if ref.host:
        return f"Service {ref.binary} on host {ref.host} could not be found."
    return f"Service {ref.id} could not be found."
