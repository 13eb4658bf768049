"""Two libvirt compute hosts in one mesh: the launcher's agent on the session's daemon, and a
second agent (its own process and config) on a second private daemon. Through the REST API a
running guest live-migrates to the other host, then is evacuated back when that host is forced
down. The guests prove it: heartbeats from the destination's console log, uptime going on
after the live migration, a fresh boot after the evacuation.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import tomllib
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import libvirt
import pytest

from tests.e2e.helpers import client, wait_for_gone
from tests.libvirt.conftest import ROOT
from tests.libvirt.guestwatch import SerialLog
from tests.libvirt.test_mesh import upload_image, wait_status
from tests.support import libvirtd
from tests.support.mesh import Mesh, _toml, start_mesh
from tests.support.ports import free_port

HOST_A = "lv-mesh-a"
HOST_B = "lv-mesh-b"
VENV_BIN = ROOT / ".venv" / "bin"


@pytest.fixture(scope="module")
def daemon_b(
    tmp_path_factory: pytest.TempPathFactory, guest_image: Path
) -> Iterator[libvirtd.Libvirtd]:
    d = libvirtd.Libvirtd(
        tmp_path_factory.mktemp("libvirtd-b"),
        ROOT / ".novamesh" / "libvirt-cache",
        qemu_conf=libvirtd.NO_CGROUPS,
    )
    d.start()
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def two_hosts(
    daemon: libvirtd.Libvirtd,
    daemon_b: libvirtd.Libvirtd,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Mesh, dict[str, Path], dict[str, libvirtd.Libvirtd]]]:
    state = tmp_path_factory.mktemp("lv2mesh")
    paths = {HOST_A: state / "libvirt", HOST_B: tmp_path_factory.mktemp("lvhostb")}
    daemons = {HOST_A: daemon, HOST_B: daemon_b}

    def libvirt_section(host: str, peer: str) -> dict[str, object]:
        return {
            "connection_uri": daemons[host].uri(),
            "host": host,
            "instances_path": str(paths[host]),
            "network_bridge": f"nm{uuidlib.uuid4().hex[:8]}",
            "sync_power_state_interval": 600.0,
            "clean_shutdown_timeout": 5.0,
            "peer_instances_paths": {peer: str(paths[peer])},
            "peer_uris": {peer: f"qemu+unix:///system?socket={daemons[peer].socket}"},
        }

    mesh = start_mesh(
        state,
        agent={"driver": "libvirt", "host_count": 1},
        extra={"libvirt": libvirt_section(HOST_A, HOST_B)},
    )
    agent_b: subprocess.Popen[bytes] | None = None
    try:
        sections: dict[str, dict[str, object]] = {
            k: v for k, v in tomllib.loads(mesh.config_file.read_text()).items() if k != "state_dir"
        }
        sections["endpoints"]["agent"] = f"127.0.0.1:{free_port()}"
        sections["libvirt"] = libvirt_section(HOST_B, HOST_A)
        config_b = state / "agent-b.toml"
        config_b.write_text(_toml(sections, {"state_dir": str(state / "host-b")}))
        with (state / "agent-b.log").open("wb") as log:
            agent_b = subprocess.Popen(
                [str(VENV_BIN / "novamesh-agent"), "--config", str(config_b)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _discover(mesh, 2)
        yield mesh, paths, daemons
    finally:
        if agent_b is not None:
            agent_b.terminate()
            try:
                agent_b.wait(timeout=20)
            except subprocess.TimeoutExpired:
                agent_b.kill()
                agent_b.wait(timeout=5)
        mesh.stop()


def _discover(mesh: Mesh, hosts: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        subprocess.run(
            [
                str(VENV_BIN / "novamesh-manage"),
                "--config",
                str(mesh.config_file),
                "cell_v2",
                "discover_hosts",
            ],
            capture_output=True,
            timeout=60,
        )
        with client(mesh) as c:
            found = c.get("/v2.1/os-hypervisors").json()["hypervisors"]
        if len(found) >= hosts:
            return
        time.sleep(1)
    raise AssertionError(f"the second host never registered: {found}")


def defined_running(d: libvirtd.Libvirtd, uuid: str) -> bool:
    conn = libvirt.open(d.uri())
    try:
        return bool(conn.lookupByUUIDString(uuid).state()[0] == libvirt.VIR_DOMAIN_RUNNING)
    except libvirt.libvirtError:
        return False
    finally:
        conn.close()


def wait_host(c: httpx.Client, sid: str, host: str) -> None:
    deadline = time.monotonic() + 90
    while c.get(f"/v2.1/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"] != host:
        assert time.monotonic() < deadline, f"the server never got to {host}"
        time.sleep(0.2)
    wait_status(c, sid, "ACTIVE")


def action(mesh: Mesh, sid: str, body: dict[str, Any]) -> None:
    with client(mesh, "2.80") as c:
        resp = c.post(f"/v2.1/servers/{sid}/action", json=body)
        assert resp.status_code in (200, 202), resp.text


async def test_live_migration_then_evacuation_through_the_api(
    two_hosts: tuple[Mesh, dict[str, Path], dict[str, libvirtd.Libvirtd]], guest_image: Path
) -> None:
    mesh, paths, daemons = two_hosts
    kernel = upload_image(mesh, guest_image / "vmlinuz", "aki", "aki")
    ramdisk = upload_image(mesh, guest_image / "initrd.gz", "ari", "ari")
    image = upload_image(
        mesh,
        guest_image / "disk.qcow2",
        "qcow2",
        "bare",
        kernel_id=kernel,
        ramdisk_id=ramdisk,
        os_command_line="console=ttyS0",
    )
    with client(mesh) as c:
        resp = c.post(
            "/v2.1/servers",
            json={"server": {"name": "mover", "imageRef": image, "flavorRef": "42"}},
        )
        assert resp.status_code == 202, resp.text
        sid = resp.json()["server"]["id"]
        source = wait_status(c, sid, "ACTIVE")["OS-EXT-SRV-ATTR:host"]
    dest = HOST_B if source == HOST_A else HOST_A

    def log(host: str) -> SerialLog:
        return SerialLog(paths[host] / sid / "console.log")

    before = await log(source).wait_heartbeat(lambda b: True, within=90, what="boot")
    started = time.monotonic()
    action(mesh, sid, {"os-migrateLive": {"host": None, "block_migration": "auto"}})
    with client(mesh) as c:
        wait_host(c, sid, dest)
    print(f"live migration {source} -> {dest} through the API: {time.monotonic() - started:.1f} s")
    assert defined_running(daemons[dest], sid) and not defined_running(daemons[source], sid)
    beat = await log(dest).wait_heartbeat(lambda b: True, within=30, what="beat on dest")
    assert float(beat["uptime"]) > float(before["uptime"]) and log(dest).boots() == 0
    assert not (paths[source] / sid).exists()
    # The destination's agent counts the guest at once (no restart needed), the source's not.
    with client(mesh) as c:
        deadline = time.monotonic() + 60
        while True:
            vms = {
                h["hypervisor_hostname"]: h["running_vms"]
                for h in c.get("/v2.1/os-hypervisors/detail").json()["hypervisors"]
            }
            if (vms.get(dest), vms.get(source)) == (1, 0) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    assert (vms.get(dest), vms.get(source)) == (1, 0), vms

    # Evacuate: the guest's host forced down, the guest is rebuilt from its image elsewhere.
    with client(mesh, "2.80") as c:
        (svc,) = c.get("/v2.1/os-services", params={"binary": "nova-compute", "host": dest}).json()[
            "services"
        ]
        assert (
            c.put(f"/v2.1/os-services/{svc['id']}", json={"forced_down": True}).status_code == 200
        )
        try:
            started = time.monotonic()
            action(mesh, sid, {"evacuate": {}})
            wait_host(c, sid, source)
        finally:
            c.put(f"/v2.1/os-services/{svc['id']}", json={"forced_down": False})
    await log(source).wait_boots(1, within=90)
    print(f"evacuation {dest} -> {source}: {time.monotonic() - started:.1f} s to the boot line")
    assert defined_running(daemons[source], sid)
    with client(mesh) as c:
        assert c.delete(f"/v2.1/servers/{sid}").status_code == 204
        wait_for_gone(c, sid)
