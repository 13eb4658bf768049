"""The domain XML builder, on XML alone (no libvirt needed)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from novamesh.agent.virt.libvirt.guest import (
    NOVA_NS,
    Disk,
    GuestConfig,
    Interface,
    domain_xml,
    iotune_from_extra_specs,
)

UUID = "1b3a3f1e-6a1d-4c36-8d4e-0d9e4f1a2b3c"


def _cfg(**kw: object) -> GuestConfig:
    base: dict[str, object] = {
        "uuid": UUID,
        "name": f"instance-{UUID}",
        "vcpus": 2,
        "memory_mb": 256,
        "kernel": "/base/k",
        "initrd": "/base/i",
        "cmdline": "console=ttyS0",
        "disks": (
            Disk("/i/disk", "vda", iotune={"read_iops_sec": 500}),
            Disk("/i/disk.config", "hdd", fmt="raw", device="cdrom", bus="ide"),
        ),
        "interfaces": (Interface("novamesh", "fa:16:3e:00:00:01"),),
        "console_log": "/i/console.log",
        "display_name": "vm1",
        "flavor_name": "m1.tiny",
        "device_tags": {"fa:16:3e:00:00:01": "mgmt"},
    }
    base.update(kw)
    return GuestConfig(**base)  # type: ignore[arg-type]


def test_qemu_guest_boots_its_kernel_with_a_serial_log() -> None:
    root = ET.fromstring(domain_xml(_cfg()))
    assert root.get("type") == "qemu"
    assert root.findtext("uuid") == UUID
    assert root.findtext("vcpu") == "2"
    assert root.findtext("memory") == str(256 * 1024)
    assert root.findtext("os/kernel") == "/base/k"
    assert root.findtext("os/initrd") == "/base/i"
    assert root.findtext("os/cmdline") == "console=ttyS0"
    assert root.find("features/acpi") is not None
    serial = root.find("devices/serial/source")
    assert serial is not None and serial.get("append") == "on"
    assert serial.get("path") == "/i/console.log"
    vnc = root.find("devices/graphics")
    assert vnc is not None and vnc.get("listen") == "127.0.0.1"


def test_disks_interfaces_and_io_limits() -> None:
    root = ET.fromstring(domain_xml(_cfg()))
    disks = root.findall("devices/disk")
    assert [d.find("target").get("dev") for d in disks] == ["vda", "hdd"]  # type: ignore[union-attr]
    assert disks[0].findtext("iotune/read_iops_sec") == "500"
    assert disks[1].get("device") == "cdrom"
    nic = root.find("devices/interface")
    assert nic is not None and nic.find("source").get("network") == "novamesh"  # type: ignore[union-attr]
    assert nic.find("mac").get("address") == "fa:16:3e:00:00:01"  # type: ignore[union-attr]


def test_without_a_kernel_the_guest_boots_its_disk() -> None:
    root = ET.fromstring(domain_xml(_cfg(kernel="", initrd="")))
    assert root.find("os/kernel") is None
    assert root.find("os/boot").get("dev") == "hd"  # type: ignore[union-attr]


def test_nova_metadata_carries_owner_flavor_and_device_tags() -> None:
    root = ET.fromstring(domain_xml(_cfg(project_id="p1", user_id="u1")))
    ns = {"nova": NOVA_NS}
    inst = root.find("metadata/nova:instance", ns)
    assert inst is not None
    assert inst.findtext("nova:name", namespaces=ns) == "vm1"
    assert inst.find("nova:flavor", ns).get("name") == "m1.tiny"  # type: ignore[union-attr]
    assert inst.find("nova:owner/nova:project", ns).get("uuid") == "p1"  # type: ignore[union-attr]
    tag = inst.find("nova:devices/nova:device", ns)
    assert tag is not None and tag.get("tag") == "mgmt"


def test_lxc_guest_has_a_root_filesystem_and_init() -> None:
    root = ET.fromstring(
        domain_xml(_cfg(virt_type="lxc", rootfs="/i/rootfs", init="/init", disks=()))
    )
    assert root.get("type") == "lxc"
    assert root.findtext("os/type") == "exe"
    assert root.findtext("os/init") == "/init"
    fs = root.find("devices/filesystem/source")
    assert fs is not None and fs.get("dir") == "/i/rootfs"
    assert root.find("devices/console/target").get("type") == "lxc"  # type: ignore[union-attr]
    assert root.find("devices/interface/model") is None


def test_io_limits_from_flavor_extra_specs() -> None:
    specs = {
        "quota:disk_read_bytes_sec": "10485760",
        "quota:disk_total_iops_sec": "500",
        "quota:disk_write_iops_sec": "bogus",
        "hw:cpu_policy": "dedicated",
    }
    assert iotune_from_extra_specs(specs) == {"read_bytes_sec": 10485760, "total_iops_sec": 500}
