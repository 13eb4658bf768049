"""Reading, listing, updating and deleting servers, on top of the router.

DB round trips: none in the gateway for these; each is one router call (GET/DELETE/PUT a
server: one call, plus one GetInstance for PUT and DELETE to check ownership and locks; a list:
one ListInstances, however many servers).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Protocol

from novamesh.cells.v1 import router_pb2, services_pb2
from novamesh.gateway.api import errors, policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.views.servers import availability_zone


async def get(deps: Deps, who: Identity, uuid: str) -> router_pb2.Instance:
    inst = await deps.router.get_instance(uuid)
    # Another project's server does not exist for a non-admin (Nova scopes the lookup).
    if inst.deleted or (not who.is_admin and inst.project_id != who.project_id):
        raise errors.instance_not_found(uuid)
    return inst


@dataclass
class ListQuery:
    """A list request after policy: what the router is asked for."""

    all_projects: bool = False
    project_id: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    name: str = ""
    vm_states: list[str] = field(default_factory=list)
    task_states: list[str] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=list)
    limit: int = 0
    marker: str = ""
    changes_since: dt.datetime | None = None
    changes_before: dt.datetime | None = None
    include_deleted: bool = False
    ip: str = ""
    ip6: str = ""
    # 2.69: a dark cell's servers come back as minimal records (else they are left out).
    cell_down_support: bool = False


async def list_servers(
    deps: Deps, who: Identity, q: ListQuery
) -> tuple[list[router_pb2.Instance], list[str]]:
    request = router_pb2.ListInstancesRequest(
        filters=q.filters,
        name=q.name,
        sort=[router_pb2.SortKey(key=k, dir=d) for k, d in q.sort],
        limit=q.limit,
        marker=q.marker,
        include_deleted=q.include_deleted,
        vm_states=q.vm_states,
        task_states=q.task_states,
        cell_down_support=q.cell_down_support,
    )
    if not q.all_projects:
        request.filters["project_id"] = who.project_id
    elif q.project_id:
        request.filters["project_id"] = q.project_id
    if q.changes_since is not None:
        request.changes_since.FromDatetime(q.changes_since)
    if q.changes_before is not None:
        request.changes_before.FromDatetime(q.changes_before)
    try:
        response = await deps.router.list_instances(request)
    except errors.NotFound:
        if q.marker:
            raise errors.BadRequest(f"marker [{q.marker}] not found") from None
        raise
    instances = list(response.instances)
    # The router does not filter on addresses; Nova matches ip/ip6 as regular expressions.
    if q.ip or q.ip6:
        instances = [i for i in instances if _ip_match(i, q.ip, q.ip6)]
    return instances, list(response.unreachable_cells)


def _ip_match(inst: router_pb2.Instance, ip: str, ip6: str) -> bool:
    for vif in inst.interfaces:
        pattern = ip6 if vif.version == 6 else ip
        if pattern and re.search(pattern, vif.address):
            return True
    return False


@dataclass
class ServerUpdate:
    name: str | None = None
    description: str | None = None
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    hostname: str | None = None
    auto_disk_config: bool | None = None
    # 2.104: "" unpins, a zone re-pins (only to the zone the server is in, from unpinned).
    pinned_availability_zone: str | None = None


def _check_pin(inst: router_pb2.Instance, zone: str) -> None:
    pinned = inst.system_metadata.get("pinned_availability_zone", "")
    if not zone or zone == pinned:
        return
    current = availability_zone(inst)
    if zone != current:
        raise errors.Conflict(
            f"The server {inst.uuid} is in availability zone {current or '(none)'}; it can be "
            f"pinned only to that zone, not to {zone}."
        )
    if pinned:
        raise errors.Conflict(
            f"The server {inst.uuid} is pinned to availability zone {pinned}; unpin it first."
        )


async def update(deps: Deps, who: Identity, uuid: str, change: ServerUpdate) -> router_pb2.Instance:
    inst = await get(deps, who, uuid)
    policy.authorize(who, "os_compute_api:servers:update", inst.project_id)
    new = router_pb2.Instance()
    mask: list[str] = []
    for field_name in ("name", "description", "access_ip_v4", "access_ip_v6", "hostname"):
        value = getattr(change, field_name)
        if value is not None:
            setattr(new, field_name, value)
            mask.append(field_name)
    if change.auto_disk_config is not None:
        new.system_metadata["auto_disk_config"] = str(change.auto_disk_config)
        mask.append("system_metadata")
    if change.pinned_availability_zone is not None:
        _check_pin(inst, change.pinned_availability_zone)
        new.system_metadata["pinned_availability_zone"] = change.pinned_availability_zone
        if "system_metadata" not in mask:
            mask.append("system_metadata")
    if not mask:
        return inst
    return await deps.router.update_instance(
        router_pb2.UpdateInstanceRequest(uuid=uuid, instance=new, update_mask=mask)
    )


async def delete(deps: Deps, who: Identity, request_id: str, uuid: str) -> None:
    inst = await get(deps, who, uuid)
    policy.authorize(who, "os_compute_api:servers:delete", inst.project_id)
    if inst.locked and not who.is_admin:
        raise errors.Conflict(f"Instance {uuid} is locked")
    await deps.router.delete_instance(uuid, request_id)


class ServiceLister(Protocol):
    async def list(self, binary: str, host: str) -> services_pb2.ListServicesResponse: ...


async def host_statuses(services: ServiceLister) -> dict[str, str]:
    """Compute host -> Nova's host_status: DOWN when forced down, MAINTENANCE when disabled,
    UP when it reports in, else UNKNOWN (also when its cell does not answer)."""
    out: dict[str, str] = {}
    for svc in (await services.list("nova-compute", "")).services:
        if svc.unreachable:
            status = "UNKNOWN"
        elif svc.forced_down:
            status = "DOWN"
        elif svc.disabled:
            status = "MAINTENANCE"
        else:
            status = "UP" if svc.up else "UNKNOWN"
        out[svc.host] = status
    return out
