"""Quota set, quota class set and absolute limits views, per microversion (2.36 drops the
nova-network resources, 2.50 gives quota classes the server group resources, 2.57 drops
personality files, 2.39 drops maxImageMeta)."""

from __future__ import annotations

from typing import Any

from novamesh.gateway.api.microversion import APIVersion
from novamesh.gateway.domain.quotas import (
    INJECTED_RESOURCES,
    NETWORK_RESOURCES,
    RESOURCES,
    Usage,
)

_SERVER_GROUP_RESOURCES = ("server_groups", "server_group_members")


def quota_set_resources(version: APIVersion) -> list[str]:
    keys = list(RESOURCES)
    if not version.at_least("2.36"):
        keys += NETWORK_RESOURCES
    if version.at_least("2.57"):
        keys = [k for k in keys if k not in INJECTED_RESOURCES]
    return sorted(keys)


def class_set_resources(version: APIVersion) -> list[str]:
    keys = list(RESOURCES)
    if not version.at_least("2.50"):
        keys = [k for k in keys if k not in _SERVER_GROUP_RESOURCES] + list(NETWORK_RESOURCES)
    if version.at_least("2.57"):
        keys = [k for k in keys if k not in INJECTED_RESOURCES]
    return sorted(keys)


def _value(limits: dict[str, int], key: str) -> int:
    return -1 if key in NETWORK_RESOURCES else limits[key]


def quota_set(
    version: APIVersion, limits: dict[str, int], set_id: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {k: _value(limits, k) for k in quota_set_resources(version)}
    if set_id is not None:
        body["id"] = set_id
    return {"quota_set": body}


def quota_detail(version: APIVersion, set_id: str, usage: dict[str, Usage]) -> dict[str, Any]:
    body: dict[str, Any] = {"id": set_id}
    for key in quota_set_resources(version):
        if key in NETWORK_RESOURCES:
            body[key] = {"in_use": 0, "limit": -1, "reserved": 0}
        else:
            u = usage[key]
            body[key] = {"in_use": u.in_use, "limit": u.limit, "reserved": u.reserved}
    return {"quota_set": body}


def quota_class_set(
    version: APIVersion, limits: dict[str, int], class_name: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {k: _value(limits, k) for k in class_set_resources(version)}
    if class_name is not None:
        body["id"] = class_name
    return {"quota_class_set": body}


def absolute_limits(
    version: APIVersion, limits: dict[str, int], used: dict[str, int]
) -> dict[str, Any]:
    absolute: dict[str, int] = {
        "maxImageMeta": limits["metadata_items"],
        "maxPersonality": limits["injected_files"],
        "maxPersonalitySize": limits["injected_file_content_bytes"],
        "maxServerMeta": limits["metadata_items"],
        "maxTotalCores": limits["cores"],
        "maxTotalFloatingIps": -1,
        "maxTotalInstances": limits["instances"],
        "maxTotalKeypairs": limits["key_pairs"],
        "maxTotalRAMSize": limits["ram"],
        "maxSecurityGroups": -1,
        "maxSecurityGroupRules": -1,
        "maxServerGroups": limits["server_groups"],
        "maxServerGroupMembers": limits["server_group_members"],
        "totalCoresUsed": used["cores"],
        "totalInstancesUsed": used["instances"],
        "totalRAMUsed": used["ram"],
        "totalSecurityGroupsUsed": 0,
        "totalFloatingIpsUsed": 0,
        "totalServerGroupsUsed": used["server_groups"],
    }
    dropped: set[str] = set()
    if version.at_least("2.36"):
        dropped |= {
            "maxTotalFloatingIps",
            "maxSecurityGroups",
            "maxSecurityGroupRules",
            "totalSecurityGroupsUsed",
            "totalFloatingIpsUsed",
        }
    if version.at_least("2.39"):
        dropped.add("maxImageMeta")
    if version.at_least("2.57"):
        dropped |= {"maxPersonality", "maxPersonalitySize"}
    return {
        "limits": {
            "absolute": {k: v for k, v in absolute.items() if k not in dropped},
            "rate": [],
        }
    }
