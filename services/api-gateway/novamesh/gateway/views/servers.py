"""The server view, per microversion (Nova's views/servers.py behaviour, our records)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from novamesh.cells.v1 import router_pb2
from novamesh.gateway.domain import states
from novamesh.gateway.views.common import (
    ViewContext,
    bookmark,
    isotime,
    links,
    strtime,
    to_datetime,
)

# Statuses whose view shows the instance fault, and those that show progress (Nova's lists).
_FAULT_STATUSES = ("ERROR", "DELETED")
# Nova's default_availability_zone: the zone of a host that no aggregate puts in another.
DEFAULT_AVAILABILITY_ZONE = "nova"
_PROGRESS_STATUSES = ("ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING")


def host_id(inst: router_pb2.Instance) -> str:
    if not inst.host:
        return ""
    return hashlib.sha224((inst.project_id + inst.host).encode()).hexdigest()


def server_status(inst: router_pb2.Instance) -> str:
    return states.status(inst.vm_state, inst.task_state, inst.deleted)


def _nullable(value: str) -> str | None:
    return value or None


def image_view(ctx: ViewContext, inst: router_pb2.Instance) -> Any:
    if not inst.image_ref:
        # Boot from volume: Nova shows an empty string.
        return ""
    view: dict[str, Any] = {
        "id": inst.image_ref,
        "links": bookmark(ctx, "images", inst.image_ref),
    }
    if ctx.v("2.98"):
        view["properties"] = dict(inst.image.properties)
    return view


def flavor_view(ctx: ViewContext, inst: router_pb2.Instance) -> dict[str, Any]:
    flavor = inst.flavor
    if not ctx.v("2.47"):
        return {"id": flavor.id, "links": bookmark(ctx, "flavors", flavor.id)}
    return {
        "vcpus": flavor.vcpus,
        "ram": flavor.memory_mb,
        "disk": flavor.root_gb,
        "ephemeral": flavor.ephemeral_gb,
        "swap": flavor.swap,
        "original_name": flavor.name,
        "extra_specs": dict(flavor.extra_specs),
    }


def addresses(inst: router_pb2.Instance, extended: bool = True) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for vif in inst.interfaces:
        if not vif.address:
            continue
        entry: dict[str, Any] = {"addr": vif.address, "version": vif.version or 4}
        if extended:
            entry["OS-EXT-IPS:type"] = "fixed"
            entry["OS-EXT-IPS-MAC:mac_addr"] = vif.mac_address
        out.setdefault(vif.network or "private", []).append(entry)
    return out


def _fault(ctx: ViewContext, inst: router_pb2.Instance) -> dict[str, Any] | None:
    if not inst.HasField("fault") or not inst.fault.message:
        return None
    fault: dict[str, Any] = {
        "code": inst.fault.code,
        "created": isotime(to_datetime(inst.fault.created_at)),
        "message": inst.fault.message,
    }
    # Nova hides the traceback of internal errors from non-admins.
    if inst.fault.details and (ctx.is_admin or inst.fault.code != 500):
        fault["details"] = inst.fault.details
    return fault


def security_groups(inst: router_pb2.Instance) -> list[dict[str, str]]:
    names = [n for n in inst.system_metadata.get("security_groups", "").split(",") if n]
    return [{"name": name} for name in names or ["default"]]


def scheduler_hints(inst: router_pb2.Instance) -> dict[str, Any]:
    raw = inst.system_metadata.get("scheduler_hints")
    return dict(json.loads(raw)) if raw else {}


def summary(ctx: ViewContext, inst: router_pb2.Instance) -> dict[str, Any]:
    """GET /servers: id, links, name."""
    return {"id": inst.uuid, "links": links(ctx, "servers", inst.uuid), "name": inst.name}


def down_cell(ctx: ViewContext, inst: router_pb2.Instance, show: bool) -> dict[str, Any]:
    """An instance whose cell did not answer (2.69): what the API database knows."""
    view: dict[str, Any] = {
        "id": inst.uuid,
        "status": "UNKNOWN",
        "tenant_id": inst.project_id,
        "created": isotime(to_datetime(inst.created_at)),
        "links": links(ctx, "servers", inst.uuid),
    }
    if show:
        view.update(
            {
                "user_id": inst.user_id,
                "flavor": flavor_view(ctx, inst),
                "image": image_view(ctx, inst),
                "OS-EXT-AZ:availability_zone": "UNKNOWN",
                "OS-EXT-STS:power_state": 0,
            }
        )
        if ctx.v("2.71"):
            view["server_groups"] = []
    return view


def detail(
    ctx: ViewContext,
    inst: router_pb2.Instance,
    *,
    show: bool = False,
    full: bool = True,
    server_groups: list[str] | None = None,
) -> dict[str, Any]:
    """GET /servers/detail entries; with show=True the GET/PUT /servers/{id} body.

    full=False is the reduced PUT (and rebuild) body before 2.75: no extension attributes.
    """
    if inst.unreachable and ctx.v("2.69"):
        return down_cell(ctx, inst, show)
    status = server_status(inst)
    created = to_datetime(inst.created_at)
    updated = to_datetime(inst.updated_at) or created
    view: dict[str, Any] = {
        "id": inst.uuid,
        "name": inst.name,
        "status": status,
        "tenant_id": inst.project_id,
        "user_id": inst.user_id,
        "metadata": dict(inst.metadata),
        "hostId": host_id(inst),
        "image": image_view(ctx, inst),
        "flavor": flavor_view(ctx, inst),
        "created": isotime(created),
        "updated": isotime(updated),
        "addresses": addresses(inst, extended=full),
        "accessIPv4": inst.access_ip_v4,
        "accessIPv6": inst.access_ip_v6,
        "links": links(ctx, "servers", inst.uuid),
        "OS-DCF:diskConfig": disk_config(inst),
    }
    if status in _FAULT_STATUSES:
        fault = _fault(ctx, inst)
        if fault is not None:
            view["fault"] = fault
    if status in _PROGRESS_STATUSES:
        view["progress"] = inst.progress
    if full:
        view.update(_extensions(ctx, inst))
    if ctx.v("2.9"):
        view["locked"] = inst.locked
    if ctx.v("2.73"):
        view["locked_reason"] = _nullable(inst.locked_reason)
    if ctx.v("2.19"):
        view["description"] = _nullable(inst.description)
    if ctx.v("2.26"):
        view["tags"] = list(inst.tags)
    if ctx.v("2.63"):
        view["trusted_image_certificates"] = trusted_certificates(inst)
    if show and ctx.v("2.71"):
        # The server group a boot named, kept in the system metadata by the boot.
        own_group = [g for g in [inst.system_metadata.get("server_group", "")] if g]
        view["server_groups"] = list(server_groups if server_groups is not None else own_group)
    if ctx.v("2.96"):
        view["pinned_availability_zone"] = _nullable(
            inst.system_metadata.get("pinned_availability_zone", "")
        )
    if ctx.v("2.100"):
        view["scheduler_hints"] = scheduler_hints(inst)
    return view


def _extensions(ctx: ViewContext, inst: router_pb2.Instance) -> dict[str, Any]:
    """The attributes of Nova's former extensions (AZ, usage, states, volumes ...)."""
    out: dict[str, Any] = {}
    out["OS-EXT-AZ:availability_zone"] = availability_zone(inst)
    out["config_drive"] = "True" if inst.config_drive else ""
    out["key_name"] = _nullable(inst.key_name)
    out["OS-SRV-USG:launched_at"] = strtime(to_datetime(inst.launched_at))
    out["OS-SRV-USG:terminated_at"] = strtime(to_datetime(inst.terminated_at))
    out["security_groups"] = security_groups(inst)
    if ctx.is_admin:
        out.update(_extended_attributes(ctx, inst))
    elif ctx.v("2.90"):
        out["OS-EXT-SRV-ATTR:hostname"] = inst.hostname
    out["OS-EXT-STS:task_state"] = _nullable(inst.task_state)
    out["OS-EXT-STS:vm_state"] = inst.vm_state
    out["OS-EXT-STS:power_state"] = inst.power_state
    out["os-extended-volumes:volumes_attached"] = volumes_attached(ctx, inst)
    if ctx.v("2.16") and ctx.is_admin:
        out["host_status"] = host_status(ctx, inst)
    return out


def trusted_certificates(inst: router_pb2.Instance) -> list[str] | None:
    """The certificate ids the server was booted with (2.63), else null."""
    raw = inst.system_metadata.get("trusted_image_certificates")
    return list(json.loads(raw)) if raw else None


def host_status(ctx: ViewContext, inst: router_pb2.Instance) -> str:
    """Nova's host_status: that of the server's compute service; "" without a host (or a
    service); UP when the services were not looked up."""
    if not inst.host:
        return ""
    if ctx.host_statuses is None:
        return "UP"
    return ctx.host_statuses.get(inst.host, "")


def volumes_attached(ctx: ViewContext, inst: router_pb2.Instance) -> list[dict[str, Any]]:
    """The server's volumes (its volume block device mappings); delete_on_termination
    from 2.3."""
    out: list[dict[str, Any]] = []
    for bdm in inst.block_device_mappings:
        if bdm.destination_type != "volume" or not bdm.volume_id:
            continue
        item: dict[str, Any] = {"id": bdm.volume_id}
        if ctx.v("2.3"):
            item["delete_on_termination"] = bdm.delete_on_termination
        out.append(item)
    return out


def availability_zone(inst: router_pb2.Instance) -> str:
    """The zone the server is in: the one it landed in, else its host's (the default zone).

    Nova answers with the AZ of the host's aggregate, `default_availability_zone` for a host
    in none; an instance not on a host yet shows the zone it asked for.
    """
    if inst.availability_zone:
        return inst.availability_zone
    return DEFAULT_AVAILABILITY_ZONE if inst.host else ""


def instance_name(inst: router_pb2.Instance) -> str:
    """Nova's instance_name_template, `instance-%08x` of the cell database row id."""
    if inst.id:
        return f"instance-{inst.id:08x}"
    return inst.system_metadata.get("instance_name", "")


def disk_config(inst: router_pb2.Instance) -> str:
    return "AUTO" if inst.system_metadata.get("auto_disk_config") == "True" else "MANUAL"


def _extended_attributes(ctx: ViewContext, inst: router_pb2.Instance) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "OS-EXT-SRV-ATTR:host": _nullable(inst.host),
        "OS-EXT-SRV-ATTR:instance_name": instance_name(inst),
        "OS-EXT-SRV-ATTR:hypervisor_hostname": _nullable(inst.node),
    }
    if ctx.v("2.3"):
        attrs.update(
            {
                "OS-EXT-SRV-ATTR:reservation_id": inst.reservation_id,
                "OS-EXT-SRV-ATTR:launch_index": inst.launch_index,
                "OS-EXT-SRV-ATTR:hostname": inst.hostname,
                "OS-EXT-SRV-ATTR:kernel_id": "",
                "OS-EXT-SRV-ATTR:ramdisk_id": "",
                "OS-EXT-SRV-ATTR:root_device_name": _nullable(
                    inst.system_metadata.get("root_device_name", "")
                ),
                "OS-EXT-SRV-ATTR:user_data": _nullable(inst.user_data),
            }
        )
    return attrs


def created(ctx: ViewContext, inst: router_pb2.Instance, admin_pass: str | None) -> dict[str, Any]:
    """The 202 body of POST /servers."""
    view: dict[str, Any] = {
        "id": inst.uuid,
        "links": links(ctx, "servers", inst.uuid),
        "OS-DCF:diskConfig": disk_config(inst),
        "security_groups": security_groups(inst),
    }
    if admin_pass is not None:
        view["adminPass"] = admin_pass
    return {"server": view}
