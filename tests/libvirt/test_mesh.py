"""Real guests through the whole mesh: REST -> Envoy -> gateway -> router -> scheduler ->
agent (libvirt driver) -> a private libvirtd running QEMU/TCG.

The guest image (kernel, initramfs, a small qcow2) is uploaded through the image API with
Nova's kernel_id/ramdisk_id properties; each test checks the guest itself (serial log markers,
libvirt's domain) besides what the API says.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import libvirt
import pytest

from tests.e2e.helpers import client, wait_for_gone
from tests.libvirt.guestwatch import SerialLog, wait_until
from tests.support import libvirtd
from tests.support.mesh import Mesh, start_mesh

TOKEN = {"X-Auth-Token": "admin:admin"}
HOST = "lv-mesh-host"
STATUS_TIMEOUT = 90.0


def wait_status(c: httpx.Client, server_id: str, *statuses: str) -> dict[str, Any]:
    deadline = time.monotonic() + STATUS_TIMEOUT
    server: dict[str, Any] = {}
    while time.monotonic() < deadline:
        server = c.get(f"/v2.1/servers/{server_id}").json()["server"]
        if server["status"] in statuses and not server.get("OS-EXT-STS:task_state"):
            return server
        if server["status"] == "ERROR":
            raise AssertionError(f"server went to ERROR: {server.get('fault')}")
        time.sleep(0.2)
    raise AssertionError(f"server {server_id} stayed {server.get('status')}, wanted {statuses}")


def upload_image(mesh: Mesh, path: Path, fmt: str, container: str, **props: str) -> str:
    body = {
        "name": path.name,
        "disk_format": fmt,
        "container_format": container,
        "visibility": "public",
        **props,
    }
    resp = httpx.post(f"{mesh.image_url}/v2/images", json=body, headers=TOKEN, timeout=30)
    assert resp.status_code == 201, resp.text
    image_id = str(resp.json()["id"])
    put = httpx.put(
        f"{mesh.image_url}/v2/images/{image_id}/file",
        content=path.read_bytes(),
        headers={**TOKEN, "Content-Type": "application/octet-stream"},
        timeout=60,
    )
    assert put.status_code == 204, put.text
    return image_id


@pytest.fixture(scope="module")
def mesh(daemon: libvirtd.Libvirtd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    m = start_mesh(
        tmp_path_factory.mktemp("lvmesh"),
        agent={"driver": "libvirt", "host_count": 1},
        extra={
            "libvirt": {
                "connection_uri": daemon.uri(),
                "host": HOST,
                "network_bridge": f"nm{uuidlib.uuid4().hex[:8]}",
                # Ten minutes: power changes seen in these tests come from libvirt events.
                "sync_power_state_interval": 600.0,
                "clean_shutdown_timeout": 10.0,
            },
            # One host: a resize stays on it (Nova's allow_resize_to_same_host).
            "actions": {"allow_resize_to_same_host": True},
        },
    )
    try:
        yield m
    finally:
        m.stop()


@pytest.fixture(scope="module")
def guest_image_id(mesh: Mesh, guest_image: Path) -> str:
    kernel = upload_image(mesh, guest_image / "vmlinuz", "aki", "aki")
    ramdisk = upload_image(mesh, guest_image / "initrd.gz", "ari", "ari")
    return upload_image(
        mesh,
        guest_image / "disk.qcow2",
        "qcow2",
        "bare",
        kernel_id=kernel,
        ramdisk_id=ramdisk,
        os_command_line="console=ttyS0",
    )


@pytest.fixture(scope="module")
def conn(daemon: libvirtd.Libvirtd) -> Iterator[libvirt.virConnect]:
    c = libvirt.open(daemon.uri())
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def server(mesh: Mesh, guest_image_id: str) -> Iterator[dict[str, Any]]:
    """One guest for the module's tests, booted through the API (m1.nano: 128 MiB, 1 GiB)."""
    with client(mesh) as c:
        started = time.monotonic()
        resp = c.post(
            "/v2.1/servers",
            json={"server": {"name": "lv1", "imageRef": guest_image_id, "flavorRef": "42"}},
        )
        assert resp.status_code == 202, resp.text
        server_id = resp.json()["server"]["id"]
        server = wait_status(c, server_id, "ACTIVE")
        server["boot_seconds"] = time.monotonic() - started
        yield server
        if c.get(f"/v2.1/servers/{server_id}").status_code == 200:
            c.delete(f"/v2.1/servers/{server_id}")
            wait_for_gone(c, server_id)


def serial_log(mesh: Mesh, server_id: str) -> SerialLog:
    return SerialLog(mesh.state_dir / "libvirt" / server_id / "console.log")


def action(mesh: Mesh, server_id: str, body: dict[str, Any]) -> None:
    with client(mesh) as c:
        resp = c.post(f"/v2.1/servers/{server_id}/action", json=body)
        assert resp.status_code == 202, resp.text


async def test_boot_runs_a_real_guest(
    mesh: Mesh, server: dict[str, Any], conn: libvirt.virConnect
) -> None:
    assert server["OS-EXT-SRV-ATTR:host"] == HOST
    assert server["OS-EXT-STS:power_state"] == 1
    dom = conn.lookupByUUIDString(server["id"])
    assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
    log = serial_log(mesh, server["id"])
    server["boot_to_console_seconds"] = await log.wait_boots(1)
    assert f"novamesh.uuid={server['id']}" in log.text()
    beat = await log.wait_heartbeat(lambda b: "vda:" in b["disks"], what="the root disk")
    assert "vda:2097152," in beat["disks"]  # the flavor's 1 GiB
    assert int(beat["mem"]) > 64 * 1024
    # The host reports itself to placement with the real machine's inventory.
    with client(mesh) as c:
        hyp = c.get("/v2.1/os-hypervisors/detail").json()["hypervisors"]
    (mine,) = [h for h in hyp if h["hypervisor_hostname"] == HOST]
    assert mine["hypervisor_type"] == "QEMU"
    # Placement has the real machine: its CPUs, its memory, its CPU features as traits.
    headers = {"X-Auth-Token": "admin", "OpenStack-API-Version": "placement 1.28"}
    async with httpx.AsyncClient(base_url=mesh.placement_url, headers=headers, timeout=30) as p:
        found = await p.get("/resource_providers", params={"name": HOST})
        (rp,) = found.json()["resource_providers"]
        inv = (await p.get(f"/resource_providers/{rp['uuid']}/inventories")).json()["inventories"]
        traits = (await p.get(f"/resource_providers/{rp['uuid']}/traits")).json()["traits"]
    assert inv["VCPU"]["total"] == os.cpu_count()
    assert inv["MEMORY_MB"]["total"] > 1024 and inv["DISK_GB"]["total"] > 1
    assert "COMPUTE_NODE" in traits and "COMPUTE_IMAGE_TYPE_QCOW2" in traits
    assert any(t.startswith("HW_CPU_X86_") for t in traits)


async def test_stop_and_start(mesh: Mesh, server: dict[str, Any], conn: libvirt.virConnect) -> None:
    log = serial_log(mesh, server["id"])
    boots = log.boots()
    action(mesh, server["id"], {"os-stop": None})
    with client(mesh) as c:
        wait_status(c, server["id"], "SHUTOFF")
    assert conn.lookupByUUIDString(server["id"]).state()[0] == libvirt.VIR_DOMAIN_SHUTOFF
    # A clean stop: the guest saw the ACPI power button.
    assert "NOVAMESH-ACPI poweroff" in log.text()
    action(mesh, server["id"], {"os-start": None})
    with client(mesh) as c:
        wait_status(c, server["id"], "ACTIVE")
    await log.wait_boots(boots + 1)
    await log.wait_heartbeat(lambda b: True, what="the guest up again")


async def test_soft_and_hard_reboot(mesh: Mesh, server: dict[str, Any]) -> None:
    log = serial_log(mesh, server["id"])
    for kind in ("SOFT", "HARD"):
        boots = log.boots()
        action(mesh, server["id"], {"reboot": {"type": kind}})
        with client(mesh) as c:
            wait_status(c, server["id"], "ACTIVE")
        await log.wait_boots(boots + 1)
        await log.wait_heartbeat(lambda b: True, what="the guest up again")


async def test_pause_unpause_suspend_resume(
    mesh: Mesh, server: dict[str, Any], conn: libvirt.virConnect
) -> None:
    dom = conn.lookupByUUIDString(server["id"])
    log = serial_log(mesh, server["id"])
    steps = [
        ("pause", "PAUSED", libvirt.VIR_DOMAIN_PAUSED),
        ("unpause", "ACTIVE", libvirt.VIR_DOMAIN_RUNNING),
        ("suspend", "SUSPENDED", libvirt.VIR_DOMAIN_SHUTOFF),
        ("resume", "ACTIVE", libvirt.VIR_DOMAIN_RUNNING),
    ]
    boots = log.boots()
    for name, status, state in steps:
        action(mesh, server["id"], {name: None})
        with client(mesh) as c:
            wait_status(c, server["id"], status)
        assert dom.state()[0] == state, name
        if name == "suspend":
            assert dom.hasManagedSaveImage(0)
    # Suspend/resume restored the same boot (managed save), it did not reboot.
    await log.wait_heartbeat(lambda b: True, what="heartbeats after resume")
    assert log.boots() == boots


async def test_a_guest_that_powers_itself_off_shows_shutoff(
    mesh: Mesh, server: dict[str, Any], conn: libvirt.virConnect
) -> None:
    # Behind the mesh's back: the ACPI power button, pressed through libvirt directly.
    conn.lookupByUUIDString(server["id"]).shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)
    with client(mesh) as c:
        got = wait_status(c, server["id"], "SHUTOFF")
        assert got["OS-EXT-STS:power_state"] == 4
    action(mesh, server["id"], {"os-start": None})
    with client(mesh) as c:
        wait_status(c, server["id"], "ACTIVE")


def post_action(mesh: Mesh, server_id: str, body: dict[str, Any], version: str) -> httpx.Response:
    with client(mesh, version) as c:
        return c.post(f"/v2.1/servers/{server_id}/action", json=body)


async def test_console_output_is_the_serial_log(mesh: Mesh, server: dict[str, Any]) -> None:
    resp = post_action(mesh, server["id"], {"os-getConsoleOutput": {"length": 50}}, "2.1")
    assert resp.status_code == 200, resp.text
    output = resp.json()["output"]
    assert "NOVAMESH-HB" in output and len(output.splitlines()) <= 50


async def test_vnc_console_and_diagnostics(mesh: Mesh, server: dict[str, Any]) -> None:
    with client(mesh, "2.48") as c:
        resp = c.post(
            f"/v2.1/servers/{server['id']}/remote-consoles",
            json={"remote_console": {"protocol": "vnc", "type": "novnc"}},
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["remote_console"]["url"]
        diag = c.get(f"/v2.1/servers/{server['id']}/diagnostics")
        assert diag.status_code == 200, diag.text
        body = diag.json()
    assert body["state"] == "running" and body["driver"] == "libvirt"
    assert body["num_cpus"] == 1 and body["memory_details"]["maximum"] == 128


async def test_crash_dump_reaches_the_guest_kernel(mesh: Mesh, server: dict[str, Any]) -> None:
    log = serial_log(mesh, server["id"])
    resp = post_action(mesh, server["id"], {"trigger_crash_dump": None}, "2.17")
    assert resp.status_code == 202, resp.text
    await wait_until(lambda: "NMI" in log.text(), 30, "the guest kernel reporting the NMI")


async def test_snapshot_becomes_an_active_qcow2_image(mesh: Mesh, server: dict[str, Any]) -> None:
    resp = post_action(mesh, server["id"], {"createImage": {"name": "lv-snap"}}, "2.45")
    assert resp.status_code == 202, resp.text
    image_id = resp.json()["image_id"]
    deadline = time.monotonic() + STATUS_TIMEOUT
    image: dict[str, Any] = {}
    async with httpx.AsyncClient(headers=TOKEN, timeout=30) as h:
        while time.monotonic() < deadline:
            image = (await h.get(f"{mesh.image_url}/v2/images/{image_id}")).json()
            if image["status"] in ("active", "killed"):
                break
            await asyncio.sleep(0.2)
        assert image["status"] == "active", image
        data = (await h.get(f"{mesh.image_url}/v2/images/{image_id}/file")).content
    assert data[:4] == b"QFI\xfb" and image["size"] == len(data)
    with client(mesh) as c:
        wait_status(c, server["id"], "ACTIVE")


async def test_rescue_boots_the_rescue_disk_first(mesh: Mesh, server: dict[str, Any]) -> None:
    log = serial_log(mesh, server["id"])
    resp = post_action(mesh, server["id"], {"rescue": {}}, "2.1")
    assert resp.status_code == 200, resp.text
    with client(mesh) as c:
        wait_status(c, server["id"], "RESCUE")
    # The rescue disk is vda; the guest's own 1 GiB disk is vdb.
    await log.wait_heartbeat(lambda b: "vdb:2097152," in b["disks"], what="the rescue layout")
    assert post_action(mesh, server["id"], {"unrescue": None}, "2.1").status_code == 202
    with client(mesh) as c:
        wait_status(c, server["id"], "ACTIVE")
    await log.wait_heartbeat(lambda b: "vdb" not in b["disks"], what="the guest's own layout")


async def test_attach_and_detach_a_volume(mesh: Mesh, server: dict[str, Any]) -> None:
    log = serial_log(mesh, server["id"])
    with client(mesh) as c:
        made = c.post("/v2.1/os-volumes", json={"volume": {"size": 2}})
        assert made.status_code == 200, made.text
        volume_id = made.json()["volume"]["id"]
        resp = c.post(
            f"/v2.1/servers/{server['id']}/os-volume_attachments",
            json={"volumeAttachment": {"volumeId": volume_id}},
        )
        assert resp.status_code == 200, resp.text
    # The volume's own size (2 GiB).
    await log.wait_heartbeat(lambda b: "vdb:4194304," in b["disks"], what="the volume as vdb")
    with client(mesh) as c:
        gone = c.delete(f"/v2.1/servers/{server['id']}/os-volume_attachments/{volume_id}")
        assert gone.status_code == 202, gone.text
    await log.wait_heartbeat(lambda b: "vdb" not in b["disks"], what="the volume gone")


async def test_rebuild_boots_a_fresh_guest(
    mesh: Mesh, server: dict[str, Any], guest_image_id: str, conn: libvirt.virConnect
) -> None:
    disk = mesh.state_dir / "libvirt" / server["id"] / "disk"
    before = disk.stat().st_ino
    resp = post_action(mesh, server["id"], {"rebuild": {"imageRef": guest_image_id}}, "2.1")
    assert resp.status_code == 202, resp.text
    with client(mesh) as c:
        wait_status(c, server["id"], "ACTIVE")
    # A new root disk from the image, a new domain, a new first boot.
    assert disk.stat().st_ino != before
    assert conn.lookupByUUIDString(server["id"]).state()[0] == libvirt.VIR_DOMAIN_RUNNING
    await serial_log(mesh, server["id"]).wait_boots(1)


async def test_resize_confirm_and_revert_change_the_guest(
    mesh: Mesh, server: dict[str, Any]
) -> None:
    """Resizes on the one host through the API: the guest runs with the new flavor's vCPUs,
    memory and disk; confirm keeps them, a revert brings back the flavor it had."""
    log = serial_log(mesh, server["id"])
    backup = mesh.state_dir / "libvirt" / server["id"] / "disk.resize-backup"
    with client(mesh) as c:
        for fid, ram, vcpus in (("lv-2cpu", 256, 2), ("lv-1cpu", 320, 1)):
            flavor = {"name": fid, "ram": ram, "vcpus": vcpus, "disk": 2, "id": fid}
            made = c.post("/v2.1/flavors", json={"flavor": flavor})
            assert made.status_code == 200, made.text

    async def resize(flavor_id: str, cpus: str) -> dict[str, str]:
        started = time.monotonic()
        resp = post_action(mesh, server["id"], {"resize": {"flavorRef": flavor_id}}, "2.1")
        assert resp.status_code == 202, resp.text
        with client(mesh) as c:
            resized = wait_status(c, server["id"], "VERIFY_RESIZE")
        assert resized["OS-EXT-SRV-ATTR:host"] == HOST
        assert resized["flavor"]["id"] == flavor_id
        beat = await log.wait_heartbeat(lambda b: b["cpus"] == cpus, within=90, what=cpus)
        print(f"resize to {flavor_id}: {time.monotonic() - started:.1f} s to the guest's beat")
        return beat

    async def finish(action: str) -> dict[str, Any]:
        resp = post_action(mesh, server["id"], {action: None}, "2.1")
        assert resp.status_code in (202, 204), resp.text
        with client(mesh) as c:
            return wait_status(c, server["id"], "ACTIVE")

    beat = await resize("lv-2cpu", "2")
    assert int(beat["mem"]) > 200 * 1024 and "vda:4194304," in beat["disks"]
    assert (await finish("confirmResize"))["flavor"]["id"] == "lv-2cpu"
    assert not backup.exists()
    beat = await resize("lv-1cpu", "1")
    assert int(beat["mem"]) > 250 * 1024
    assert (await finish("revertResize"))["flavor"]["id"] == "lv-2cpu"
    beat = await log.wait_heartbeat(lambda b: b["cpus"] == "2", within=90, what="2 vCPUs again")
    assert int(beat["mem"]) < 250 * 1024 and "vda:4194304," in beat["disks"]
    assert not backup.exists()


async def test_delete_removes_the_domain_and_its_files(
    mesh: Mesh, server: dict[str, Any], conn: libvirt.virConnect
) -> None:
    with client(mesh) as c:
        assert c.delete(f"/v2.1/servers/{server['id']}").status_code == 204
        wait_for_gone(c, server["id"])
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByUUIDString(server["id"])
    assert not (mesh.state_dir / "libvirt" / server["id"]).exists()


async def test_boot_from_a_volume_made_from_the_image(
    mesh: Mesh, guest_image_id: str, conn: libvirt.virConnect
) -> None:
    """`--boot-from-volume 2`: the host writes the image into a new 2 GiB volume, which the
    guest has as its boot disk vda; no local root disk; the volume goes with the server."""
    root = {
        "boot_index": 0,
        "uuid": guest_image_id,
        "source_type": "image",
        "destination_type": "volume",
        "volume_size": 2,
        "delete_on_termination": True,
    }
    body = {"server": {"name": "lv-bfv", "flavorRef": "42", "block_device_mapping_v2": [root]}}
    with client(mesh, "2.35") as c:
        resp = c.post("/v2.1/servers", json=body)
        assert resp.status_code == 202, resp.text
        server_id = resp.json()["server"]["id"]
        try:
            shown = wait_status(c, server_id, "ACTIVE")
            (attached,) = shown["os-extended-volumes:volumes_attached"]
            volume = c.get(f"/v2.1/os-volumes/{attached['id']}").json()["volume"]
            assert (volume["size"], volume["status"]) == (2, "in-use")
            assert conn.lookupByUUIDString(server_id).state()[0] == libvirt.VIR_DOMAIN_RUNNING
            log = serial_log(mesh, server_id)
            await log.wait_boots(1)
            beat = await log.wait_heartbeat(lambda b: "vda:" in b["disks"], what="the volume")
            assert "vda:4194304," in beat["disks"] and "vdb" not in beat["disks"]
            files = mesh.state_dir / "libvirt"
            assert not (files / server_id / "disk").exists()
            assert (files / "volumes" / f"{attached['id']}.qcow2").exists()
        finally:
            c.delete(f"/v2.1/servers/{server_id}")
            wait_for_gone(c, server_id)
        deadline = time.monotonic() + 30
        while c.get(f"/v2.1/os-volumes/{attached['id']}").status_code != 404:
            assert time.monotonic() < deadline, "the delete_on_termination volume stayed"
            await asyncio.sleep(0.2)
