"""A guest's diagnostics (Nova's standard model) read from libvirt: vCPU times, memory, disk
and NIC counters. Blocking: call it in a worker thread."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET

import libvirt
from novamesh.agent.virt.guest_info import (
    CpuDiagnostics,
    Diagnostics,
    DiskDiagnostics,
    NicDiagnostics,
)

_STATE = {
    libvirt.VIR_DOMAIN_RUNNING: "running",
    libvirt.VIR_DOMAIN_BLOCKED: "running",
    libvirt.VIR_DOMAIN_PAUSED: "paused",
    libvirt.VIR_DOMAIN_SHUTDOWN: "shutdown",
    libvirt.VIR_DOMAIN_SHUTOFF: "shutdown",
    libvirt.VIR_DOMAIN_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_PMSUSPENDED: "suspended",
}


def collect(dom: libvirt.virDomain, hypervisor: str, config_drive: bool) -> Diagnostics:
    state, max_kib, mem_kib, _ncpu, _cpu_ns = dom.info()
    active = bool(dom.isActive())
    cpus: list[CpuDiagnostics] = []
    disks: list[DiskDiagnostics] = []
    nics: list[NicDiagnostics] = []
    if active:
        with contextlib.suppress(libvirt.libvirtError):
            for info in dom.vcpus()[0]:
                cpus.append(CpuDiagnostics(id=int(info[0]), time=int(info[2])))
        root = ET.fromstring(dom.XMLDesc(0))
        for disk in root.findall("./devices/disk/target"):
            with contextlib.suppress(libvirt.libvirtError):
                rd_req, rd_bytes, wr_req, wr_bytes, errs = dom.blockStats(disk.get("dev", ""))
                disks.append(
                    DiskDiagnostics(
                        read_bytes=rd_bytes,
                        read_requests=rd_req,
                        write_bytes=wr_bytes,
                        write_requests=wr_req,
                        errors_count=max(errs, 0),
                    )
                )
        for iface in root.findall("./devices/interface"):
            mac = iface.find("mac")
            target = iface.find("target")
            if mac is None or target is None:
                continue
            with contextlib.suppress(libvirt.libvirtError):
                st = dom.interfaceStats(target.get("dev", ""))
                nics.append(
                    NicDiagnostics(
                        mac_address=mac.get("address", ""),
                        rx_octets=st[0],
                        rx_packets=st[1],
                        rx_errors=st[2],
                        rx_drop=st[3],
                        tx_octets=st[4],
                        tx_packets=st[5],
                        tx_errors=st[6],
                        tx_drop=st[7],
                    )
                )
    return Diagnostics(
        state=_STATE.get(state, "pending"),
        driver="libvirt",
        hypervisor=hypervisor,
        hypervisor_os="linux",
        config_drive=config_drive,
        memory_maximum=max_kib // 1024,
        memory_used=mem_kib // 1024 if active else 0,
        cpu_details=cpus,
        nic_details=nics,
        disk_details=disks,
    )
