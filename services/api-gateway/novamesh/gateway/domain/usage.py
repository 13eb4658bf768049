"""os-simple-tenant-usage: hours, vCPU-, RAM- and disk-hours per project over a period, from
the instances that ran in it (deleted ones too), as Nova computes them.

One router call (which asks every cell once) per request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from novamesh.cells.v1 import hypervisors_pb2 as hv
from novamesh.gateway.api import policy
from novamesh.gateway.api.errors import BadRequest

for _name, _check in [("list", "rule:admin_api"), ("show", "rule:admin_or_owner")]:
    policy.register(f"os_compute_api:os-simple-tenant-usage:{_name}", _check, "Tenant usage")

_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")
_TERMINATED_STATES = ("deleted", "shelved_offloaded")


class Source(Protocol):
    async def usage_instances(
        self, start: dt.datetime, end: dt.datetime, project_id: str
    ) -> list[hv.UsageInstance]: ...


def parse_time(raw: str | None) -> dt.datetime:
    if not raw:
        return dt.datetime.now(dt.UTC)
    for fmt in _FORMATS:
        try:
            return dt.datetime.strptime(raw, fmt).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    raise BadRequest("Datetime is in invalid format")


def period(start: str | None, end: str | None) -> tuple[dt.datetime, dt.datetime]:
    begin, stop = parse_time(start), parse_time(end)
    if not begin < stop:
        raise BadRequest("Invalid start time. The start time cannot occur after the end time.")
    return begin, stop


@dataclass
class ServerUsage:
    instance_id: str
    name: str
    tenant_id: str
    flavor: str
    vcpus: int
    memory_mb: int
    local_gb: int
    hours: float
    started_at: dt.datetime
    ended_at: dt.datetime | None
    state: str
    uptime: int


@dataclass
class TenantUsage:
    tenant_id: str
    start: dt.datetime
    stop: dt.datetime
    total_hours: float = 0.0
    total_vcpus_usage: float = 0.0
    total_memory_mb_usage: float = 0.0
    total_local_gb_usage: float = 0.0
    servers: list[ServerUsage] = field(default_factory=list)


def _aware(ts: dt.datetime) -> dt.datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)


def hours_for(
    launched: dt.datetime, terminated: dt.datetime | None, start: dt.datetime, stop: dt.datetime
) -> float:
    if terminated is not None and terminated < start:
        return 0.0
    if launched > stop:
        return 0.0
    end = min(stop, terminated) if terminated is not None else stop
    return (end - max(launched, start)).total_seconds() / 3600.0


def server_usage(
    inst: hv.UsageInstance, start: dt.datetime, stop: dt.datetime, now: dt.datetime
) -> ServerUsage:
    launched = _aware(inst.launched_at.ToDatetime())
    ended = _aware(inst.terminated_at.ToDatetime()) if inst.HasField("terminated_at") else None
    state = "terminated" if inst.vm_state in _TERMINATED_STATES else inst.vm_state
    uptime_end = ended if state == "terminated" and ended is not None else now
    return ServerUsage(
        instance_id=inst.uuid,
        name=inst.name,
        tenant_id=inst.project_id,
        flavor=inst.flavor.name,
        vcpus=inst.flavor.vcpus,
        memory_mb=inst.flavor.memory_mb,
        local_gb=inst.flavor.root_gb + inst.flavor.ephemeral_gb,
        hours=hours_for(launched, ended, start, stop),
        started_at=launched,
        ended_at=ended,
        state=state,
        uptime=int((uptime_end - launched).total_seconds()),
    )


def page(
    instances: list[hv.UsageInstance], limit: int | None, marker: str | None
) -> list[hv.UsageInstance]:
    if marker is not None:
        ids = [i.uuid for i in instances]
        if marker not in ids:
            raise BadRequest(f"marker [{marker}] not found")
        instances = instances[ids.index(marker) + 1 :]
    return instances if limit is None else instances[:limit]


def summarise(
    instances: Sequence[hv.UsageInstance], start: dt.datetime, stop: dt.datetime
) -> list[TenantUsage]:
    now = dt.datetime.now(dt.UTC)
    tenants: dict[str, TenantUsage] = {}
    for inst in instances:
        usage = server_usage(inst, start, stop, now)
        tenant = tenants.setdefault(usage.tenant_id, TenantUsage(usage.tenant_id, start, stop))
        tenant.total_hours += usage.hours
        tenant.total_vcpus_usage += usage.vcpus * usage.hours
        tenant.total_memory_mb_usage += usage.memory_mb * usage.hours
        tenant.total_local_gb_usage += usage.local_gb * usage.hours
        tenant.servers.append(usage)
    return list(tenants.values())
