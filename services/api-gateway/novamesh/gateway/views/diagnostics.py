"""Diagnostics as Nova shows them: the standard model from 2.48, a flat driver-style dict
before (the libvirt driver's key names: cpu<N>_time, memory, vd<x>_*, vnet<N>_*)."""

from __future__ import annotations

import string
from typing import Any

from novamesh.cells.v1 import server_devices_pb2 as sd


def _opt(msg: Any, name: str) -> Any:
    return getattr(msg, name) if msg.HasField(name) else None


def standard(d: sd.ServerDiagnostics) -> dict[str, Any]:
    return {
        "state": d.state,
        "driver": d.driver,
        "hypervisor": _opt(d, "hypervisor"),
        "hypervisor_os": _opt(d, "hypervisor_os"),
        "uptime": _opt(d, "uptime"),
        "config_drive": d.config_drive,
        "num_cpus": d.num_cpus,
        "num_nics": d.num_nics,
        "num_disks": d.num_disks,
        "memory_details": {
            "maximum": _opt(d, "memory_maximum"),
            "used": _opt(d, "memory_used"),
        },
        "cpu_details": [
            {"id": c.id, "time": _opt(c, "time"), "utilisation": _opt(c, "utilisation")}
            for c in d.cpu_details
        ],
        "nic_details": [
            {"mac_address": n.mac_address}
            | {
                f.name: _opt(n, f.name)
                for f in sd.NicDiagnostics.DESCRIPTOR.fields
                if f.name != "mac_address"
            }
            for n in d.nic_details
        ],
        "disk_details": [
            {f.name: _opt(disk, f.name) for f in sd.DiskDiagnostics.DESCRIPTOR.fields}
            for disk in d.disk_details
        ],
    }


_LEGACY_NIC = {
    "rx": "rx_octets",
    "rx_drop": "rx_drop",
    "rx_errors": "rx_errors",
    "rx_packets": "rx_packets",
    "tx": "tx_octets",
    "tx_drop": "tx_drop",
    "tx_errors": "tx_errors",
    "tx_packets": "tx_packets",
}
_LEGACY_DISK = {
    "errors": "errors_count",
    "read": "read_bytes",
    "read_req": "read_requests",
    "write": "write_bytes",
    "write_req": "write_requests",
}


def legacy(d: sd.ServerDiagnostics) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cpu in d.cpu_details:
        if cpu.HasField("time"):
            out[f"cpu{cpu.id}_time"] = cpu.time
    if d.HasField("memory_maximum"):
        out["memory"] = d.memory_maximum
    for i, disk in enumerate(d.disk_details):
        name = f"vd{string.ascii_lowercase[i % 26]}"
        for suffix, field in _LEGACY_DISK.items():
            # libvirt reports -1 for an error count it does not know.
            value = _opt(disk, field)
            out[f"{name}_{suffix}"] = -1 if value is None and suffix == "errors" else value
    # libvirt's tap devices are vnet1, vnet2 ... in upstream's samples.
    for i, nic in enumerate(d.nic_details, start=1):
        for suffix, field in _LEGACY_NIC.items():
            out[f"vnet{i}_{suffix}"] = _opt(nic, field)
    return {k: v for k, v in out.items() if v is not None}
