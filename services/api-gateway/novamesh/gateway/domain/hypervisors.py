"""os-hypervisors: compute nodes as the router gathers them, found by id (an integer before
2.53, the node's uuid from 2.53), by hostname pattern, paginated from 2.33. Admin only.

Each call is one router call (which asks every cell once).
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Sequence
from typing import Protocol

from novamesh.cells.v1 import hypervisors_pb2 as hv
from novamesh.gateway.api import policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import BadRequest, Conflict, NotFound, NotImplementedYet

for _name in ("list", "list-detail", "show", "statistics", "uptime", "search", "servers"):
    policy.register(f"os_compute_api:os-hypervisors:{_name}", "rule:admin_api", "Hypervisors")


class Source(Protocol):
    async def hypervisors(self, with_servers: bool) -> list[hv.Hypervisor]: ...


def public_id(node: hv.Hypervisor, uuids: bool) -> str:
    return node.uuid if uuids else str(node.id)


def not_found(hypervisor_id: str) -> NotFound:
    return NotFound(f"Hypervisor with ID {hypervisor_id} could not be found.")


def no_match(pattern: str) -> NotFound:
    return NotFound(f"No hypervisor matching '{pattern}' could be found.")


async def list_all(
    source: Source, who: Identity, rule: str, *, with_servers: bool = False
) -> list[hv.Hypervisor]:
    policy.authorize(who, f"os_compute_api:os-hypervisors:{rule}")
    found = await source.hypervisors(with_servers)
    return sorted(found, key=lambda n: (n.id, n.uuid))


def matching(found: Sequence[hv.Hypervisor], pattern: str) -> list[hv.Hypervisor]:
    """Nova's LIKE %pattern%: a substring of the hypervisor hostname."""
    hits = [n for n in found if pattern in n.hypervisor_hostname]
    if not hits:
        raise no_match(pattern)
    return hits


def page(
    found: list[hv.Hypervisor], uuids: bool, limit: int | None, marker: str | None
) -> list[hv.Hypervisor]:
    if marker is not None:
        ids = [public_id(n, uuids) for n in found]
        if marker not in ids:
            raise BadRequest(f"marker [{marker}] not found")
        found = found[ids.index(marker) + 1 :]
    return found if limit is None else found[:limit]


async def get(
    source: Source, who: Identity, hypervisor_id: str, uuids: bool, *, with_servers: bool
) -> hv.Hypervisor:
    policy.authorize(who, "os_compute_api:os-hypervisors:show")
    if uuids:
        try:
            uuidlib.UUID(hypervisor_id)
        except ValueError:
            raise BadRequest(f"Invalid uuid {hypervisor_id}") from None
    for node in await source.hypervisors(with_servers):
        if public_id(node, uuids) == hypervisor_id:
            return node
    raise not_found(hypervisor_id)


class UptimeSource(Protocol):
    async def uptime(self, host: str) -> str: ...


async def uptime(source: UptimeSource | None, node: hv.Hypervisor) -> str:
    """The node's host's uptime text; Nova answers 400 while its compute service is away."""
    if source is None:
        raise NotImplementedYet("Virt driver does not implement uptime function.")
    try:
        return await source.uptime(node.host)
    except Conflict as exc:
        raise BadRequest(exc.message) from None


def statistics(found: Sequence[hv.Hypervisor]) -> dict[str, int]:
    stats = {
        "count": len(found),
        "vcpus": sum(n.vcpus for n in found),
        "vcpus_used": sum(n.vcpus_used for n in found),
        "memory_mb": sum(n.memory_mb for n in found),
        "memory_mb_used": sum(n.memory_mb_used for n in found),
        "local_gb": sum(n.local_gb for n in found),
        "local_gb_used": sum(n.local_gb_used for n in found),
        "running_vms": sum(n.running_vms for n in found),
        "current_workload": 0,
    }
    stats["free_ram_mb"] = stats["memory_mb"] - stats["memory_mb_used"]
    stats["free_disk_gb"] = stats["local_gb"] - stats["local_gb_used"]
    stats["disk_available_least"] = stats["free_disk_gb"]
    return stats
