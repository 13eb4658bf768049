"""The libvirt driver's small pieces that need no daemon: ports, the config drive's contents,
host CPU traits, LXC root trees."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from novamesh.agent.virt.driver import GuestDiagnostics, VolumeSwappable, check_declarations
from novamesh.agent.virt.libvirt import configdrive, hostinfo, imagebackend, network
from novamesh.agent.virt.libvirt.driver import LibvirtDriver
from novamesh.agent.virt.libvirt.settings import LibvirtSettings
from novamesh.agent.virt.model import DriverError, InstanceSpec, NetworkInterface, RequestedNetwork

CAPS = """<capabilities><host><cpu><arch>x86_64</arch><model>Skylake-Client-IBRS</model>
<vendor>Intel</vendor><feature name='sse4.2'/><feature name='avx2'/><feature name='pni'/>
<feature name='hypervisor'/></cpu></host></capabilities>"""


def test_ports_get_stable_macs_and_addresses() -> None:
    a = network.interface_for("novamesh", "u1", 0, RequestedNetwork(tag="t"))
    b = network.interface_for("novamesh", "u1", 0, RequestedNetwork())
    assert a.port_id == b.port_id and a.mac_address == b.mac_address
    assert a.mac_address.startswith("fa:16:3e:") and a.tag == "t"
    assert a.address.startswith("10.254.")
    other = network.interface_for("novamesh", "u1", 1, RequestedNetwork())
    assert other.port_id != a.port_id
    fixed = network.interface_for("n", "u1", 0, RequestedNetwork(port_id="p", fixed_ip="10.0.0.9"))
    assert fixed.port_id == "p" and fixed.address == "10.0.0.9"


def test_cpu_features_become_os_traits() -> None:
    cpu = hostinfo.cpu_from_capabilities(CAPS)
    assert cpu.model == "Skylake-Client-IBRS" and cpu.vendor == "Intel"
    assert cpu.traits() == ("HW_CPU_X86_AVX2", "HW_CPU_X86_SSE3", "HW_CPU_X86_SSE42")
    assert json.loads(cpu.to_json())["features"] == ["avx2", "hypervisor", "pni", "sse4.2"]


def test_meta_data_has_keys_devices_and_no_password_when_unset() -> None:
    spec = InstanceSpec(
        uuid="u1", name="vm", key_name="k", key_data="ssh-ed25519 AAA", metadata={"a": "b"}
    )
    tags = [{"type": "nic", "bus": "pci", "mac": "fa:16:3e:00:00:01", "tags": ["mgmt"]}]
    data = configdrive.meta_data(spec, tags)
    assert data["uuid"] == "u1" and data["hostname"] == "vm" and data["meta"] == {"a": "b"}
    assert data["public_keys"] == {"k": "ssh-ed25519 AAA"}
    assert data["devices"][0]["tags"] == ["mgmt"]
    assert "admin_pass" not in data


def test_network_data_links_each_port() -> None:
    iface = NetworkInterface(
        "novamesh", "10.254.0.7", mac_address="fa:16:3e:00:00:02", port_id="p1"
    )
    data = configdrive.network_data([iface])
    assert data["links"][0]["ethernet_mac_address"] == "fa:16:3e:00:00:02"
    assert data["networks"][0]["ip_address"] == "10.254.0.7"
    assert data["networks"][0]["link"] == data["links"][0]["id"]


def test_user_data_is_decoded_from_base64() -> None:
    assert configdrive._user_data("aGVsbG8=") == b"hello"
    assert configdrive._user_data("#!/bin/sh not base64") == b"#!/bin/sh not base64"


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_lxc_root_trees_unpack_inside_their_directory(tmp_path: Path) -> None:
    archive = tmp_path / "root.tar.gz"
    archive.write_bytes(_tar({"init": b"#!/bin/sh\n", "etc/hostname": b"ct\n"}))
    dest = tmp_path / "rootfs"
    imagebackend._unpack(archive, dest)
    assert (dest / "etc/hostname").read_text() == "ct\n"
    evil = tmp_path / "evil.tar.gz"
    evil.write_bytes(_tar({"../outside": b"x"}))
    with pytest.raises(tarfile.OutsideDestinationError):
        imagebackend._unpack(evil, tmp_path / "r2")
    assert not (tmp_path / "outside").exists()
    plain = tmp_path / "disk.qcow2"
    plain.write_bytes(b"QFI\xfb" + bytes(100))
    with pytest.raises(DriverError):
        imagebackend._unpack(plain, tmp_path / "r3")


class _NoImages:
    def chunks(self, image_id: str) -> Any:
        raise AssertionError("no image is read")


@pytest.mark.parametrize("virt_type", ["qemu", "kvm", "lxc"])
def test_the_driver_implements_what_it_declares(tmp_path: Path, virt_type: str) -> None:
    drv = LibvirtDriver(
        LibvirtSettings(
            uri="test:///default",
            virt_type=virt_type,
            instances_path=tmp_path,
            image_target="",
            host="h",
        ),
        _NoImages(),
    )
    check_declarations(drv)
    assert drv.list_hosts() == ["h"]
    # Typed against the interfaces the agent calls (checked by mypy, not at run time).
    typed: tuple[VolumeSwappable, GuestDiagnostics] = (drv, drv)
    assert all(t is drv for t in typed)
