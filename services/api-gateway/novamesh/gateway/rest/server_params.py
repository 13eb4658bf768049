"""Turning validated Nova request bodies and query strings into domain requests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from novamesh.gateway.api import policy
from novamesh.gateway.api.errors import BadRequest, Forbidden
from novamesh.gateway.api.query import Query
from novamesh.gateway.domain import bdm, states
from novamesh.gateway.domain.boot import BootRequest, RequestedNetwork
from novamesh.gateway.domain.servers import ListQuery, ServerUpdate
from novamesh.gateway.rest.call import Call
from novamesh.gateway.schemas.types import to_bool

TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")

# Every query parameter Nova's servers list schema names (unknown ones are a 400 from 2.75).
KNOWN_LIST_PARAMS = frozenset(
    [
        "user_id", "project_id", "tenant_id", "launch_index", "image_ref", "image",
        "kernel_id", "ramdisk_id", "hostname", "key_name", "power_state", "vm_state",
        "task_state", "host", "node", "flavor", "reservation_id", "launched_at",
        "terminated_at", "availability_zone", "name", "display_name", "description",
        "display_description", "locked_by", "uuid", "root_device_name", "config_drive",
        "access_ip_v4", "access_ip_v6", "auto_disk_config", "progress", "sort_key",
        "sort_dir", "all_tenants", "soft_deleted", "deleted", "status", "changes-since",
        "ip", "ip6", "created_at", "block_device_mapping", "services", "metadata",
        "system_metadata", "info_cache", "security_groups", "pci_devices", "limit",
        "marker", *TAG_FILTERS, "changes-before", "locked",
    ]
)  # fmt: skip

# Filters passed to the router as exact matches on instance fields (query name -> field).
_EXACT = {
    "user_id": "user_id",
    "image": "image_ref",
    "image_ref": "image_ref",
    "flavor": "flavor_id",
    "host": "host",
    "node": "node",
    "reservation_id": "reservation_id",
    "availability_zone": "availability_zone",
    "key_name": "key_name",
    "hostname": "hostname",
    "uuid": "uuid",
    "locked": "locked",
    "config_drive": "config_drive",
    "power_state": "power_state",
    "launch_index": "launch_index",
    "progress": "progress",
    "description": "description",
    "display_description": "description",
    "access_ip_v4": "access_ip_v4",
    "access_ip_v6": "access_ip_v6",
    **{tag: tag for tag in TAG_FILTERS},
}

SORT_KEYS = frozenset(
    [
        "access_ip_v4", "access_ip_v6", "auto_disk_config", "availability_zone",
        "config_drive", "created_at", "display_description", "display_name", "host",
        "hostname", "image_ref", "instance_type_id", "kernel_id", "key_name", "launch_index",
        "launched_at", "locked", "locked_by", "node", "power_state", "progress",
        "project_id", "ramdisk_id", "root_device_name", "task_state", "terminated_at",
        "updated_at", "user_id", "uuid", "vm_state",
    ]
)  # fmt: skip


def _user_filters(call: Call) -> set[str]:
    allowed = {"reservation_id", "name", "status", "image", "flavor", "ip", "changes-since"}
    allowed |= {"all_tenants", "limit", "marker", "sort_key", "sort_dir"}
    v = call.version
    if v.at_least("2.5"):
        allowed.add("ip6")
    if v.at_least("2.26"):
        allowed.update(TAG_FILTERS)
    if v.at_least("2.66"):
        allowed.add("changes-before")
    if v.at_least("2.73"):
        allowed.add("locked")
    if v.at_least("2.83"):
        allowed.update(
            [
                "availability_zone", "config_drive", "key_name", "created_at", "launched_at",
                "terminated_at", "power_state", "task_state", "vm_state", "progress", "user_id",
            ]
        )  # fmt: skip
    if v.at_least("2.90"):
        allowed.add("hostname")
    return allowed


def _timestamp(name: str, raw: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"Invalid input for query parameters {name}. Value: {raw}. '{raw}' is not a 'date-time'"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def list_query(call: Call, max_limit: int, detail: bool) -> ListQuery:
    query: Query = call.query
    if call.version.at_least("2.75"):
        query.check_known(KNOWN_LIST_PARAMS)
    admin = policy.allowed(call.who, "os_compute_api:servers:allow_all_filters")
    keys = set(query.keys()) if admin else set(query.keys()) & _user_filters(call)
    q = ListQuery(limit=query.limit(max_limit), marker=query.get("marker") or "")
    if "all_tenants" in keys:
        all_tenants = query.bool_param("all_tenants") if query.get("all_tenants") else True
        if all_tenants:
            rule = f"os_compute_api:servers:{'detail' if detail else 'index'}:get_all_tenants"
            if not policy.allowed(call.who, rule):
                raise Forbidden(f"Policy doesn't allow {rule} to be performed.")
            q.all_projects = True
    if admin:
        project = query.get("project_id") or query.get("tenant_id")
        if project:
            q.all_projects = True
            q.project_id = project
    for key in keys:
        raw = query.get(key) or ""
        if key in _EXACT:
            q.filters[_EXACT[key]] = raw
    name = query.get("name") or query.get("display_name") if keys & {"name", "display_name"} else ""
    q.name = name or ""
    if "status" in keys:
        vm_states: set[str] = set()
        task_states: set[str] = set()
        for value in query.getall("status"):
            found = states.states_for_status(value)
            if found is None:
                # Nova answers an unknown status with an empty list.
                q.vm_states = ["__none__"]
                break
            vm_states.update(found[0])
            task_states.update(found[1])
        else:
            q.vm_states = sorted(vm_states)
            q.task_states = sorted(task_states)
    for key, target in (("vm_state", q.vm_states), ("task_state", q.task_states)):
        if key in keys:
            target.extend(query.getall(key))
    if "changes-since" in keys:
        q.changes_since = _timestamp("changes-since", query.get("changes-since") or "")
        q.include_deleted = True
    if "changes-before" in keys:
        q.changes_before = _timestamp("changes-before", query.get("changes-before") or "")
        q.include_deleted = True
        if q.changes_since and q.changes_since > q.changes_before:
            raise BadRequest(
                "The value of changes-since must be less than or equal to changes-before."
            )
    if admin and "deleted" in keys:
        q.include_deleted = bool(query.bool_param("deleted"))
    q.ip = query.get("ip", "") or "" if "ip" in keys else ""
    q.ip6 = query.get("ip6", "") or "" if "ip6" in keys else ""
    sort_keys = query.getall("sort_key") if "sort_key" in keys else []
    sort_dirs = query.getall("sort_dir") if "sort_dir" in keys else []
    for i, key in enumerate(sort_keys):
        if key not in SORT_KEYS:
            raise BadRequest(f"Invalid input for query parameters sort_key. Value: {key}.")
        direction = sort_dirs[i] if i < len(sort_dirs) else "desc"
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid input for query parameters sort_dir. Value: {direction}.")
        q.sort.append((key, direction))
    return q


def _networks(body: dict[str, Any]) -> str | list[RequestedNetwork]:
    if "networks" not in body:
        return "auto"
    nets = body["networks"]
    if isinstance(nets, str):
        return nets
    return [
        RequestedNetwork(
            network_id=n.get("uuid", ""),
            port_id=n.get("port") or "",
            fixed_ip=n.get("fixed_ip", ""),
            tag=n.get("tag", ""),
        )
        for n in nets
    ]


def _hints(body: dict[str, Any]) -> dict[str, list[str]]:
    raw = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}
    hints: dict[str, list[str]] = {}
    for key, value in raw.items():
        values = value if isinstance(value, list) else [value]
        hints[key] = [v if isinstance(v, str) else str(v) for v in values]
    return hints


def boot_request(body: dict[str, Any]) -> BootRequest:
    server = body["server"]
    disk = server.get("OS-DCF:diskConfig")
    return BootRequest(
        name=server["name"],
        flavor_ref=str(server["flavorRef"]),
        image_ref=server.get("imageRef", ""),
        admin_pass=server.get("adminPass"),
        metadata=dict(server.get("metadata", {})),
        networks=_networks(server),
        auto_disk_config=None if disk is None else disk == "AUTO",
        access_ip_v4=server.get("accessIPv4", ""),
        access_ip_v6=server.get("accessIPv6", ""),
        availability_zone=server.get("availability_zone", ""),
        config_drive=to_bool(server.get("config_drive", False)),
        key_name=server.get("key_name", ""),
        min_count=int(server.get("min_count", 1)),
        max_count=int(server.get("max_count", server.get("min_count", 1))),
        return_reservation_id=to_bool(server.get("return_reservation_id", False)),
        security_groups=[g["name"] for g in server.get("security_groups", []) if "name" in g],
        user_data=server.get("user_data", ""),
        description=server.get("description") or "",
        tags=list(server.get("tags", [])),
        trusted_image_certificates=list(server.get("trusted_image_certificates") or []),
        scheduler_hints=_hints(body),
        host=server.get("host", ""),
        hypervisor_hostname=server.get("hypervisor_hostname", ""),
        hostname=server.get("hostname", ""),
        legacy_block_device_mapping=list(server.get("block_device_mapping") or []),
        block_device_mapping=[bdm.parse(d) for d in server.get("block_device_mapping_v2", [])],
    )


def server_update(body: dict[str, Any]) -> ServerUpdate:
    server = body["server"]
    disk = server.get("OS-DCF:diskConfig")
    description = server.get("description", None) if "description" in server else None
    return ServerUpdate(
        name=server.get("name"),
        # An explicit null clears the description.
        description=("" if "description" in server and description is None else description),
        access_ip_v4=server.get("accessIPv4"),
        access_ip_v6=server.get("accessIPv6"),
        hostname=server.get("hostname"),
        auto_disk_config=None if disk is None else disk == "AUTO",
        pinned_availability_zone=(
            (server["pinned_availability_zone"] or "")
            if "pinned_availability_zone" in server
            else None
        ),
    )


def to_bool_flag(body: dict[str, Any], key: str) -> bool:
    return to_bool(body.get("server", {}).get(key, False))
