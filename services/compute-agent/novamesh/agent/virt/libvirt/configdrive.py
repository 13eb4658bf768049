"""The config drive: an ISO 9660 image labelled `config-2` with the OpenStack metadata layout
(openstack/latest/meta_data.json, network_data.json, user_data, vendor_data.json), as
cloud-init's ConfigDrive datasource reads it."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from novamesh.agent.virt.model import DriverError, InstanceSpec, NetworkInterface


def meta_data(spec: InstanceSpec, device_tags: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    data: dict[str, Any] = {
        "uuid": spec.uuid,
        "name": spec.name,
        "hostname": spec.hostname or spec.name,
        "launch_index": 0,
        "availability_zone": "nova",
        "project_id": spec.project_id,
        "meta": dict(spec.metadata),
        "devices": list(device_tags),
    }
    if spec.key_name and spec.key_data:
        data["public_keys"] = {spec.key_name: spec.key_data}
        data["keys"] = [{"name": spec.key_name, "type": "ssh", "data": spec.key_data}]
    if spec.admin_pass:
        data["admin_pass"] = spec.admin_pass
    return data


def network_data(interfaces: Sequence[NetworkInterface]) -> dict[str, Any]:
    links, networks = [], []
    for n, iface in enumerate(interfaces):
        link_id = f"tap{iface.port_id[:11]}" if iface.port_id else f"interface{n}"
        links.append(
            {"id": link_id, "type": "phy", "ethernet_mac_address": iface.mac_address, "mtu": 1500}
        )
        networks.append(
            {
                "id": f"network{n}",
                "type": "ipv4" if iface.version == 4 else "ipv6",
                "link": link_id,
                "ip_address": iface.address,
                "netmask": "255.255.0.0",
                "network_id": iface.network,
            }
        )
    return {"links": links, "networks": networks, "services": []}


def _user_data(raw: str) -> bytes:
    # The API takes user data base64-encoded; the guest reads it decoded.
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return raw.encode()


def _write_tree(root: Path, files: Mapping[str, bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


async def build(
    dest: Path,
    spec: InstanceSpec,
    interfaces: Sequence[NetworkInterface],
    device_tags: Sequence[Mapping[str, Any]] = (),
) -> Path:
    files = {
        "openstack/latest/meta_data.json": json.dumps(meta_data(spec, device_tags)).encode(),
        "openstack/latest/network_data.json": json.dumps(network_data(interfaces)).encode(),
        "openstack/latest/vendor_data.json": b"{}",
        "openstack/latest/vendor_data2.json": b"{}",
    }
    if spec.user_data:
        files["openstack/latest/user_data"] = _user_data(spec.user_data)
    with tempfile.TemporaryDirectory(prefix="configdrive-") as tmp:
        _write_tree(Path(tmp), files)
        proc = await asyncio.create_subprocess_exec(
            "genisoimage",
            "-o",
            str(dest),
            "-ldots",
            "-allow-lowercase",
            "-allow-multidot",
            "-l",
            "-quiet",
            "-J",
            "-r",
            "-V",
            "config-2",
            tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _out, err = await proc.communicate()
    if proc.returncode != 0:
        raise DriverError(f"cannot build the config drive: {err.decode(errors='replace')}")
    return dest
