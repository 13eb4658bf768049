"""The domain XML of a guest, built from plain values (no libvirt connection needed).

QEMU guests boot either their disk or, when the image names a kernel and ramdisk (Nova's
kernel_id/ramdisk_id), that kernel directly. The serial console goes to a file the agent reads
for os-getConsoleOutput (append='on', or every QEMU start would truncate it). LXC guests get a
root filesystem directory and an init program instead of disks.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field

NOVA_NS = "http://openstack.org/xmlns/libvirt/nova/1.1"
NOVA_PREFIX = "nova"

# Flavor extra specs `quota:disk_<key>` that become a disk's <iotune> (Nova's names).
IOTUNE_KEYS = (
    "read_bytes_sec",
    "write_bytes_sec",
    "total_bytes_sec",
    "read_iops_sec",
    "write_iops_sec",
    "total_iops_sec",
)


@dataclass(frozen=True)
class Disk:
    path: str
    target: str  # vda, vdb ...
    fmt: str = "qcow2"  # qcow2 or raw
    device: str = "disk"  # disk or cdrom
    bus: str = "virtio"
    serial: str = ""
    readonly: bool = False
    iotune: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Interface:
    network: str
    mac: str
    model: str = "virtio"
    target_dev: str = ""


@dataclass(frozen=True)
class GuestConfig:
    uuid: str
    name: str
    virt_type: str = "qemu"
    vcpus: int = 1
    memory_mb: int = 512
    kernel: str = ""
    initrd: str = ""
    cmdline: str = ""
    disks: tuple[Disk, ...] = ()
    interfaces: tuple[Interface, ...] = ()
    console_log: str = ""
    vnc: bool = True
    # LXC only: the container's root directory and its init program.
    rootfs: str = ""
    init: str = "/sbin/init"
    # Shown in the nova metadata element, as Nova's libvirt driver writes it.
    display_name: str = ""
    flavor_name: str = ""
    project_id: str = ""
    user_id: str = ""
    device_tags: Mapping[str, str] = field(default_factory=dict)


def iotune_from_extra_specs(extra_specs: Mapping[str, str]) -> dict[str, int]:
    """Flavor `quota:disk_*` extra specs as <iotune> values; other keys are ignored."""
    tune: dict[str, int] = {}
    for key in IOTUNE_KEYS:
        raw = extra_specs.get(f"quota:disk_{key}")
        if raw is not None and raw.strip().isdigit() and int(raw) > 0:
            tune[key] = int(raw)
    return tune


def _sub(parent: ET.Element, element: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, element, {k.rstrip("_"): v for k, v in attrs.items()})
    if text is not None:
        el.text = text
    return el


def disk_element(disk: Disk) -> ET.Element:
    el = ET.Element("disk", {"type": "file", "device": disk.device})
    _sub(el, "driver", name="qemu", type=disk.fmt)
    _sub(el, "source", file=disk.path)
    _sub(el, "target", dev=disk.target, bus=disk.bus)
    if disk.serial:
        _sub(el, "serial", disk.serial)
    if disk.readonly:
        _sub(el, "readonly")
    if disk.iotune:
        tune = _sub(el, "iotune")
        for key in IOTUNE_KEYS:
            if key in disk.iotune:
                _sub(tune, key, str(disk.iotune[key]))
    return el


def interface_element(iface: Interface) -> ET.Element:
    el = ET.Element("interface", {"type": "network"})
    _sub(el, "mac", address=iface.mac)
    _sub(el, "source", network=iface.network)
    _sub(el, "model", type=iface.model)
    if iface.target_dev:
        _sub(el, "target", dev=iface.target_dev)
    return el


def to_xml(element: ET.Element) -> str:
    ET.register_namespace(NOVA_PREFIX, NOVA_NS)
    return ET.tostring(element, encoding="unicode")


def metadata_element(cfg: GuestConfig) -> ET.Element:
    ns = f"{{{NOVA_NS}}}"
    inst = ET.Element(f"{ns}instance")
    _sub(inst, f"{ns}name", cfg.display_name)
    _sub(inst, f"{ns}flavor", name=cfg.flavor_name)
    owner = _sub(inst, f"{ns}owner")
    _sub(owner, f"{ns}user", uuid=cfg.user_id)
    _sub(owner, f"{ns}project", uuid=cfg.project_id)
    if cfg.device_tags:
        # Not in Nova's schema: the device tags, so they survive an agent restart.
        tags = _sub(inst, f"{ns}devices")
        for device, tag in sorted(cfg.device_tags.items()):
            _sub(tags, f"{ns}device", name=device, tag=tag)
    return inst


def domain_xml(cfg: GuestConfig) -> str:
    lxc = cfg.virt_type == "lxc"
    dom = ET.Element("domain", {"type": cfg.virt_type})
    _sub(dom, "name", cfg.name)
    _sub(dom, "uuid", cfg.uuid)
    meta = _sub(dom, "metadata")
    meta.append(metadata_element(cfg))
    _sub(dom, "memory", str(cfg.memory_mb * 1024), unit="KiB")
    _sub(dom, "currentMemory", str(cfg.memory_mb * 1024), unit="KiB")
    _sub(dom, "vcpu", str(cfg.vcpus))
    os_el = _sub(dom, "os")
    if lxc:
        _sub(os_el, "type", "exe")
        _sub(os_el, "init", cfg.init)
    else:
        _sub(os_el, "type", "hvm", arch="x86_64", machine="pc")
        if cfg.kernel:
            _sub(os_el, "kernel", cfg.kernel)
            if cfg.initrd:
                _sub(os_el, "initrd", cfg.initrd)
            if cfg.cmdline:
                _sub(os_el, "cmdline", cfg.cmdline)
        else:
            _sub(os_el, "boot", dev="hd")
        features = _sub(dom, "features")
        _sub(features, "acpi")
        _sub(features, "apic")
    _sub(dom, "on_poweroff", "destroy")
    # A guest reboot restarts the domain: libvirt's "fake reboot" covers ACPI reboots too.
    _sub(dom, "on_reboot", "restart")
    _sub(dom, "on_crash", "destroy")
    devices = _sub(dom, "devices")
    if lxc:
        fs = _sub(devices, "filesystem", type="mount")
        _sub(fs, "source", dir=cfg.rootfs)
        _sub(fs, "target", dir="/")
    else:
        for disk in cfg.disks:
            devices.append(disk_element(disk))
    for iface in cfg.interfaces:
        el = interface_element(iface)
        if lxc:
            model = el.find("model")
            if model is not None:
                el.remove(model)
        devices.append(el)
    if lxc:
        _sub(_sub(devices, "console", type="pty"), "target", type="lxc", port="0")
    else:
        if cfg.console_log:
            serial = _sub(devices, "serial", type="file")
            _sub(serial, "source", path=cfg.console_log, append="on")
            _sub(serial, "target", port="0")
        if cfg.vnc:
            _sub(devices, "graphics", type="vnc", autoport="yes", listen="127.0.0.1")
            _sub(_sub(devices, "video"), "model", type="cirrus")
        _sub(devices, "memballoon", model="virtio")
    return to_xml(dom)
