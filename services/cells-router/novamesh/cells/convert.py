"""Between cell database rows and the `cells.v1` / `agent.v1` messages.

Flavor and image snapshots are stored as plain JSON objects keyed by proto field names, so a
row stays readable in the database and converting back needs no JSON-format round trip.
"""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from collections.abc import Mapping
from typing import Any, TypeVar

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from novamesh.agent.v1 import agent_pb2, block_devices_pb2
from novamesh.cells import host_topology
from novamesh.cells.db import models
from novamesh.cells.db.loader import Record
from novamesh.cells.registry import Cell
from novamesh.cells.v1 import router_pb2
from novamesh.scheduler.v1 import request_spec_pb2
from sqlalchemy import inspect as sa_inspect

M = TypeVar("M", bound=Message)


def ts(value: dt.datetime | None) -> Timestamp | None:
    if value is None:
        return None
    out = Timestamp()
    out.FromDatetime(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    return out


def from_ts(value: Timestamp) -> dt.datetime:
    return value.ToDatetime()


def message_dict(msg: Message) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in msg.DESCRIPTOR.fields:
        value = getattr(msg, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            out[field.name] = dict(value)
        elif field.message_type is not None:
            out[field.name] = message_dict(value)
        elif field.is_repeated:
            out[field.name] = list(value)
        else:
            out[field.name] = value
    return out


def dict_message(cls: type[M], data: dict[str, Any] | None) -> M:
    known = cls.DESCRIPTOR.fields_by_name
    return cls(**{k: v for k, v in (data or {}).items() if k in known})


def new_row(
    inst: router_pb2.Instance,
    *,
    vm_state: str,
    task_state: str | None,
    host: str | None,
    node: str | None,
) -> models.Instance:
    """The cell record of an instance the gateway described (no id, fresh timestamps)."""
    row = models.Instance(
        uuid=inst.uuid,
        display_name=inst.name or None,
        display_description=inst.description or None,
        hostname=inst.hostname or None,
        project_id=inst.project_id,
        user_id=inst.user_id,
        vm_state=vm_state,
        task_state=task_state,
        power_state=inst.power_state,
        host=host,
        node=node,
        availability_zone=inst.availability_zone or None,
        image_ref=inst.image_ref or None,
        flavor_id=inst.flavor.id or None,
        key_name=inst.key_name or None,
        key_data=inst.key_data or None,
        user_data=inst.user_data or None,
        locked=inst.locked,
        locked_reason=inst.locked_reason or None,
        config_drive=inst.config_drive,
        access_ip_v4=inst.access_ip_v4 or None,
        access_ip_v6=inst.access_ip_v6 or None,
        progress=inst.progress,
        reservation_id=inst.reservation_id or None,
        launch_index=inst.launch_index,
    )
    if inst.HasField("created_at"):
        row.created_at = from_ts(inst.created_at)
    row.extra = models.InstanceExtra(
        flavor=message_dict(inst.flavor),
        image=message_dict(inst.image),
        requested_networks=[message_dict(n) for n in inst.requested_networks],
    )
    row.info_cache = models.InstanceInfoCache(
        network_info=[message_dict(i) for i in inst.interfaces]
    )
    row.metadata_items = [models.InstanceMetadata(key=k, value=v) for k, v in inst.metadata.items()]
    row.system_metadata = [
        models.InstanceSystemMetadata(key=k, value=v) for k, v in inst.system_metadata.items()
    ]
    row.tags = [models.Tag(tag=t) for t in dict.fromkeys(inst.tags)]
    row.block_device_mappings = [block_device_row(b) for b in inst.block_device_mappings]
    return row


def block_device_row(bdm: block_devices_pb2.BlockDevice) -> models.BlockDeviceMapping:
    return models.BlockDeviceMapping(
        uuid=bdm.uuid or str(uuidlib.uuid4()),
        source_type=bdm.source_type,
        destination_type=bdm.destination_type,
        boot_index=None if bdm.boot_index < 0 else bdm.boot_index,
        device_name=bdm.device_name or None,
        device_type=bdm.device_type or None,
        disk_bus=bdm.disk_bus or None,
        guest_format=bdm.guest_format or None,
        volume_size=bdm.volume_size or None,
        delete_on_termination=bdm.delete_on_termination,
        image_id=bdm.image_id or None,
        volume_id=bdm.volume_id or None,
        snapshot_id=bdm.snapshot_id or None,
        volume_type=bdm.volume_type or None,
        tag=bdm.tag or None,
    )


def instance(row: models.Instance, cell: Cell | None) -> router_pb2.Instance:
    """A cell row, with its children loaded, as the router's Instance message."""
    extra = row.extra
    out = router_pb2.Instance(
        uuid=row.uuid,
        id=row.id,
        name=row.display_name or "",
        hostname=row.hostname or "",
        project_id=row.project_id,
        user_id=row.user_id,
        vm_state=row.vm_state or "",
        task_state=row.task_state or "",
        power_state=row.power_state,
        host=row.host or "",
        node=row.node or "",
        availability_zone=row.availability_zone or "",
        image_ref=row.image_ref or "",
        key_name=row.key_name or "",
        key_data=row.key_data or "",
        metadata={m.key: m.value for m in row.metadata_items},
        user_data=row.user_data or "",
        description=row.display_description or "",
        locked=row.locked,
        locked_reason=row.locked_reason or "",
        tags=sorted(t.tag for t in row.tags),
        config_drive=row.config_drive,
        access_ip_v4=row.access_ip_v4 or "",
        access_ip_v6=row.access_ip_v6 or "",
        progress=row.progress,
        cell_uuid=cell.uuid if cell else "",
        cell_name=cell.name if cell else "",
        reservation_id=row.reservation_id or "",
        launch_index=row.launch_index,
        created_at=ts(row.created_at),
        updated_at=ts(row.updated_at),
        launched_at=ts(row.launched_at),
        terminated_at=ts(row.terminated_at),
        deleted_at=ts(row.deleted_at),
        deleted=row.deleted,
        system_metadata={m.key: m.value for m in row.system_metadata},
    )
    if extra is not None:
        out.flavor.CopyFrom(dict_message(request_spec_pb2.Flavor, extra.flavor))
        out.image.CopyFrom(dict_message(request_spec_pb2.ImageMeta, extra.image))
        out.requested_networks.extend(
            dict_message(agent_pb2.RequestedNetwork, n) for n in extra.requested_networks
        )
    if row.info_cache is not None:
        out.interfaces.extend(
            dict_message(agent_pb2.NetworkInterface, i) for i in row.info_cache.network_info
        )
    if "block_device_mappings" not in sa_inspect(row).unloaded:
        out.block_device_mappings.extend(
            _volume(b.__dict__)
            for b in row.block_device_mappings
            if b.destination_type == "volume" and not b.deleted
        )
    if row.faults:
        fault = row.faults[0]
        out.fault.CopyFrom(
            router_pb2.Fault(
                code=fault.code,
                message=fault.message,
                details=fault.details or "",
                created_at=ts(fault.created_at),
            )
        )
    return out


def _volume(row: Mapping[Any, Any]) -> block_devices_pb2.BlockDevice:
    """A volume mapping as the Instance message carries it (volumes_attached in the API)."""
    return block_devices_pb2.BlockDevice(
        uuid=row["uuid"] or "",
        source_type=row["source_type"] or "",
        destination_type=row["destination_type"] or "",
        boot_index=-1 if row["boot_index"] is None else row["boot_index"],
        device_name=row["device_name"] or "",
        volume_id=row["volume_id"] or "",
        delete_on_termination=bool(row["delete_on_termination"]),
        tag=row["tag"] or "",
    )


def record_instance(rec: Record, cell: Cell | None) -> router_pb2.Instance:
    """A record read by the loader (plain rows), as the router's Instance message."""
    r = rec.row
    out = router_pb2.Instance(
        uuid=r["uuid"],
        id=r["id"],
        name=r["display_name"] or "",
        hostname=r["hostname"] or "",
        project_id=r["project_id"],
        user_id=r["user_id"],
        vm_state=r["vm_state"] or "",
        task_state=r["task_state"] or "",
        power_state=r["power_state"] or 0,
        host=r["host"] or "",
        node=r["node"] or "",
        availability_zone=r["availability_zone"] or "",
        image_ref=r["image_ref"] or "",
        key_name=r["key_name"] or "",
        key_data=r["key_data"] or "",
        metadata=rec.metadata,
        user_data=r["user_data"] or "",
        description=r["display_description"] or "",
        locked=bool(r["locked"]),
        locked_reason=r["locked_reason"] or "",
        tags=rec.tags,
        config_drive=bool(r["config_drive"]),
        access_ip_v4=r["access_ip_v4"] or "",
        access_ip_v6=r["access_ip_v6"] or "",
        progress=r["progress"] or 0,
        cell_uuid=cell.uuid if cell else "",
        cell_name=cell.name if cell else "",
        reservation_id=r["reservation_id"] or "",
        launch_index=r["launch_index"] or 0,
        created_at=ts(r["created_at"]),
        updated_at=ts(r["updated_at"]),
        launched_at=ts(r["launched_at"]),
        terminated_at=ts(r["terminated_at"]),
        deleted_at=ts(r["deleted_at"]),
        deleted=bool(r["deleted"]),
        system_metadata=rec.system_metadata,
    )
    if rec.extra is not None:
        out.flavor.CopyFrom(dict_message(request_spec_pb2.Flavor, rec.extra["flavor"]))
        out.image.CopyFrom(dict_message(request_spec_pb2.ImageMeta, rec.extra["image"]))
        out.requested_networks.extend(
            dict_message(agent_pb2.RequestedNetwork, n)
            for n in rec.extra["requested_networks"] or []
        )
    out.interfaces.extend(dict_message(agent_pb2.NetworkInterface, i) for i in rec.network_info)
    out.block_device_mappings.extend(_volume(v) for v in rec.volumes)
    if rec.fault is not None:
        f = rec.fault
        out.fault.CopyFrom(
            router_pb2.Fault(
                code=f["code"],
                message=f["message"],
                details=f["details"] or "",
                created_at=ts(f["created_at"]),
            )
        )
    return out


def pending_instance(data: bytes, tags: list[str], created_at: dt.datetime) -> router_pb2.Instance:
    """A build request's instance: what the gateway recorded, status BUILD."""
    out = router_pb2.Instance.FromString(data)
    if not out.vm_state:
        out.vm_state = "building"
    if not out.tags and tags:
        out.tags.extend(tags)
    if not out.HasField("created_at"):
        out.created_at.FromDatetime(created_at.replace(tzinfo=dt.UTC))
    return out


def host_resources(node: models.ComputeNode) -> agent_pb2.HostResources:
    numa, pci = host_topology.from_columns(node.numa_topology, node.pci_stats)
    return agent_pb2.HostResources(
        host=node.host,
        nodename=node.hypervisor_hostname,
        compute_node_uuid=node.uuid,
        hypervisor_type=node.hypervisor_type,
        hypervisor_version=node.hypervisor_version,
        hypervisor_hostname=node.hypervisor_hostname,
        vcpus=node.vcpus,
        vcpus_used=node.vcpus_used,
        memory_mb=node.memory_mb,
        memory_mb_used=node.memory_mb_used,
        local_gb=node.local_gb,
        local_gb_used=node.local_gb_used,
        running_vms=node.running_vms,
        cpu_allocation_ratio=node.cpu_allocation_ratio,
        ram_allocation_ratio=node.ram_allocation_ratio,
        disk_allocation_ratio=node.disk_allocation_ratio,
        host_ip=node.host_ip or "",
        availability_zone=node.availability_zone or "",
        cpu_info=node.cpu_info or "",
        traits=list(node.traits or []),
        metrics=dict(node.metrics or {}),
        numa_cells=numa,
        pci_pools=pci,
    )


def apply_resources(node: models.ComputeNode, res: agent_pb2.HostResources) -> None:
    node.host = res.host
    node.hypervisor_hostname = res.nodename or res.hypervisor_hostname or res.host
    if res.compute_node_uuid:
        node.uuid = res.compute_node_uuid
    node.hypervisor_type = res.hypervisor_type or "fake"
    node.hypervisor_version = res.hypervisor_version
    node.vcpus = res.vcpus
    node.vcpus_used = res.vcpus_used
    node.memory_mb = res.memory_mb
    node.memory_mb_used = res.memory_mb_used
    node.local_gb = res.local_gb
    node.local_gb_used = res.local_gb_used
    node.running_vms = res.running_vms
    node.cpu_allocation_ratio = res.cpu_allocation_ratio or 1.0
    node.ram_allocation_ratio = res.ram_allocation_ratio or 1.0
    node.disk_allocation_ratio = res.disk_allocation_ratio or 1.0
    node.host_ip = res.host_ip or None
    node.availability_zone = res.availability_zone or None
    node.cpu_info = res.cpu_info or None
    node.traits = list(res.traits)
    node.metrics = dict(res.metrics)
    node.numa_topology, node.pci_stats = host_topology.to_columns(res)
