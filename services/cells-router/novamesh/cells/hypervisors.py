"""Compute nodes across cells (os-hypervisors) and the instances of a period (usage reports).

Both are scatter-gather reads: every cell but cell0 answers in parallel within the list
timeout; a cell that does not is named in `unreachable_cells` and left out. A node's state
(up/down, enabled/disabled) is its compute service's, as os-services reports it. One query per
cell, plus one for the instances on the nodes when asked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from novamesh.agent.v1 import agent_pb2
from novamesh.agent.v1 import guest_devices_pb2 as gd
from novamesh.cells import convert
from novamesh.cells.core import Conflict, Core
from novamesh.cells.db import hosts as hosts_db
from novamesh.cells.db import models
from novamesh.cells.registry import Cell
from novamesh.cells.services import Services
from novamesh.cells.v1 import hypervisors_pb2 as hv
from novamesh.scheduler.v1 import request_spec_pb2
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

LOG = logging.getLogger(__name__)

T = TypeVar("T")


class Hypervisors:
    def __init__(self, core: Core, services: Services, timeout: float = 30.0) -> None:
        self._core = core
        self._services = services
        self._timeout = timeout

    async def uptime(self, host: str) -> hv.HostUptime:
        """The host's uptime from its agent (Nova asks the compute service the same way)."""
        if not self._core.hub.connected(host):
            raise Conflict(f"Compute service of {host} is unavailable at this time.")
        command = agent_pb2.AgentCommand(get_host_uptime=gd.GetHostUptime())
        try:
            outcome = await self._core.hub.call(host, command, self._timeout)
        except TimeoutError:
            raise Conflict(f"Compute service of {host} is unavailable at this time.") from None
        if not outcome.ok:
            if "does not support" in outcome.error:
                raise NotImplementedError("Virt driver does not implement uptime function.")
            raise Conflict(f"Compute service of {host} is unavailable at this time.")
        return hv.HostUptime(uptime=outcome.data.get("uptime", ""))

    async def _gather(
        self, per_cell: Callable[[Cell], Awaitable[list[T]]]
    ) -> tuple[list[T], list[str]]:
        cells = [c for c in self._core.registry.all() if not c.is_cell0]
        results = await asyncio.gather(*(per_cell(c) for c in cells), return_exceptions=True)
        out: list[T] = []
        unreachable: list[str] = []
        for cell, result in zip(cells, results, strict=True):
            if isinstance(result, BaseException):
                LOG.warning("cell %s left out: %s", cell.label, result)
                unreachable.append(cell.uuid)
            else:
                out.extend(result)
        return out, unreachable

    async def list(self, with_servers: bool) -> hv.ListHypervisorsResponse:
        async def one(cell: Cell) -> list[hv.Hypervisor]:
            async def work(session: AsyncSession) -> list[hv.Hypervisor]:
                rows = await hosts_db.nodes(session)
                servers = await _servers_by_node(session) if with_servers else {}
                return [_hypervisor(node, svc, cell, servers) for node, svc in rows]

            found: list[hv.Hypervisor] = await self._core.in_cell(
                cell, work, self._core.list_timeout
            )
            return found

        found, unreachable = await self._gather(one)
        services, _ = await self._services.list_all(hosts_db.COMPUTE_BINARY)
        liveness = {(s.cell_uuid, s.host): s.up for s in services}
        for node in found:
            node.service_up = liveness.get((node.cell_uuid, node.host), False)
        return hv.ListHypervisorsResponse(hypervisors=found, unreachable_cells=unreachable)

    async def usage(self, request: hv.ListUsageInstancesRequest) -> hv.ListUsageInstancesResponse:
        start = convert.from_ts(request.start) if request.HasField("start") else None
        end = convert.from_ts(request.end) if request.HasField("end") else None

        async def one(cell: Cell) -> list[hv.UsageInstance]:
            async def work(session: AsyncSession) -> list[hv.UsageInstance]:
                return await _usage_instances(session, start, end, request.project_id)

            found: list[hv.UsageInstance] = await self._core.in_cell(
                cell, work, self._core.list_timeout
            )
            return found

        found, unreachable = await self._gather(one)
        found.sort(key=lambda i: (i.project_id, i.uuid))
        return hv.ListUsageInstancesResponse(instances=found, unreachable_cells=unreachable)


async def _servers_by_node(
    session: AsyncSession,
) -> dict[tuple[str, str], list[hv.HypervisorServer]]:
    rows = await session.execute(
        select(models.Instance.host, models.Instance.node, models.Instance.uuid)
        .add_columns(models.Instance.display_name)
        .where(models.Instance.deleted.is_(False), models.Instance.host.is_not(None))
        .order_by(models.Instance.id)
    )
    out: dict[tuple[str, str], list[hv.HypervisorServer]] = {}
    for host, node, uuid, name in rows:
        out.setdefault((host, node or host), []).append(
            hv.HypervisorServer(uuid=uuid, name=name or "")
        )
    return out


def _hypervisor(
    node: models.ComputeNode,
    svc: models.Service | None,
    cell: Cell,
    servers: dict[tuple[str, str], list[hv.HypervisorServer]],
) -> hv.Hypervisor:
    return hv.Hypervisor(
        uuid=node.uuid,
        id=node.id,
        hypervisor_hostname=node.hypervisor_hostname,
        hypervisor_type=node.hypervisor_type,
        hypervisor_version=node.hypervisor_version,
        host=node.host,
        host_ip=node.host_ip or "",
        vcpus=node.vcpus,
        vcpus_used=node.vcpus_used,
        memory_mb=node.memory_mb,
        memory_mb_used=node.memory_mb_used,
        local_gb=node.local_gb,
        local_gb_used=node.local_gb_used,
        running_vms=node.running_vms,
        cpu_info=node.cpu_info or "",
        service_disabled=bool(svc.disabled) if svc is not None else False,
        service_disabled_reason=(svc.disabled_reason or "") if svc is not None else "",
        service_id=svc.id if svc is not None else 0,
        service_uuid=svc.uuid if svc is not None else "",
        servers=servers.get((node.host, node.hypervisor_hostname), []),
        cell_uuid=cell.uuid,
    )


async def _usage_instances(
    session: AsyncSession, start: dt.datetime | None, end: dt.datetime | None, project_id: str
) -> list[hv.UsageInstance]:
    """Nova's instance_get_active_by_window_joined: launched before the end, not terminated
    before the start."""
    query: Any = (
        select(models.Instance, models.InstanceExtra.flavor)
        .outerjoin(models.InstanceExtra, models.InstanceExtra.instance_uuid == models.Instance.uuid)
        .where(models.Instance.launched_at.is_not(None))
    )
    if end is not None:
        query = query.where(models.Instance.launched_at < end)
    if start is not None:
        query = query.where(
            or_(models.Instance.terminated_at.is_(None), models.Instance.terminated_at > start)
        )
    if project_id:
        query = query.where(models.Instance.project_id == project_id)
    out = []
    for row, flavor in await session.execute(query):
        item = hv.UsageInstance(
            uuid=row.uuid,
            name=row.display_name or "",
            project_id=row.project_id,
            vm_state=row.vm_state or "",
            flavor=convert.dict_message(request_spec_pb2.Flavor, flavor),
        )
        launched = convert.ts(row.launched_at)
        if launched is not None:
            item.launched_at.CopyFrom(launched)
        terminated = convert.ts(row.terminated_at)
        if terminated is not None:
            item.terminated_at.CopyFrom(terminated)
        out.append(item)
    return out
