"""Hypervisor views per microversion: 2.28 cpu_info as an object, 2.53 uuids for hypervisor
and service ids, 2.75 an empty `servers` list when asked for and there are none, 2.88 without
the resource fields and with `uptime`."""

from __future__ import annotations

import json
from typing import Any

from novamesh.cells.v1 import hypervisors_pb2 as hv
from novamesh.gateway.api.microversion import APIVersion
from novamesh.gateway.domain.hypervisors import public_id


def summary(version: APIVersion, node: hv.Hypervisor, servers: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "hypervisor_hostname": node.hypervisor_hostname,
        "id": public_id(node, version.at_least("2.53")),
        "state": "up" if node.service_up else "down",
        "status": "disabled" if node.service_disabled else "enabled",
    }
    if not version.at_least("2.53"):
        view["id"] = node.id
    if servers and (node.servers or version.at_least("2.75")):
        view["servers"] = [{"name": s.name, "uuid": s.uuid} for s in node.servers]
    return view


def _cpu_info(version: APIVersion, raw: str) -> Any:
    if not version.at_least("2.28"):
        return raw
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def detail(version: APIVersion, node: hv.Hypervisor, servers: bool = False) -> dict[str, Any]:
    uuids = version.at_least("2.53")
    view = summary(version, node, servers)
    view.update(
        {
            "host_ip": node.host_ip,
            "hypervisor_type": node.hypervisor_type,
            "hypervisor_version": node.hypervisor_version,
            "service": {
                "host": node.host,
                "id": node.service_uuid if uuids else node.service_id,
                "disabled_reason": node.service_disabled_reason or None,
            },
        }
    )
    if version.at_least("2.88"):
        view["uptime"] = None
        return view
    free_disk = node.local_gb - node.local_gb_used
    view.update(
        {
            "cpu_info": _cpu_info(version, node.cpu_info),
            "current_workload": 0,
            "disk_available_least": free_disk,
            "free_disk_gb": free_disk,
            "free_ram_mb": node.memory_mb - node.memory_mb_used,
            "local_gb": node.local_gb,
            "local_gb_used": node.local_gb_used,
            "memory_mb": node.memory_mb,
            "memory_mb_used": node.memory_mb_used,
            "running_vms": node.running_vms,
            "vcpus": node.vcpus,
            "vcpus_used": node.vcpus_used,
        }
    )
    return view
