"""Simple tenant usage views (Nova prints its times as naive UTC with microseconds)."""

from __future__ import annotations

from typing import Any

from novamesh.gateway.domain.usage import ServerUsage, TenantUsage
from novamesh.gateway.views.common import strtime


def _server(s: ServerUsage) -> dict[str, Any]:
    return {
        "ended_at": strtime(s.ended_at),
        "flavor": s.flavor,
        "hours": s.hours,
        "instance_id": s.instance_id,
        "local_gb": s.local_gb,
        "memory_mb": s.memory_mb,
        "name": s.name,
        "started_at": strtime(s.started_at),
        "state": s.state,
        "tenant_id": s.tenant_id,
        "uptime": s.uptime,
        "vcpus": s.vcpus,
    }


def tenant_usage(usage: TenantUsage, detailed: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "start": strtime(usage.start),
        "stop": strtime(usage.stop),
        "tenant_id": usage.tenant_id,
        "total_hours": usage.total_hours,
        "total_local_gb_usage": usage.total_local_gb_usage,
        "total_memory_mb_usage": usage.total_memory_mb_usage,
        "total_vcpus_usage": usage.total_vcpus_usage,
    }
    if detailed:
        view["server_usages"] = [_server(s) for s in usage.servers]
    return view
