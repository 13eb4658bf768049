"""An LXC container through the whole mesh: the agent's libvirt driver with virt_type lxc.

The image is a gzipped tar of a busybox root (its init: /init-lxc, named by the image's
os_command_line); the container appends its markers to /var/log/console.log in its root, which
the test reads on the host.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest

from tests.e2e.helpers import client, wait_for_gone
from tests.libvirt.guestwatch import SerialLog
from tests.libvirt.test_mesh import action, upload_image, wait_status
from tests.support import libvirtd
from tests.support.mesh import Mesh, start_mesh

HOST = "lxc-mesh-host"


@pytest.fixture(scope="module")
def lxc_mesh(daemon: libvirtd.Libvirtd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    m = start_mesh(
        tmp_path_factory.mktemp("lxcmesh"),
        agent={"driver": "libvirt", "host_count": 1},
        extra={
            "libvirt": {
                "virt_type": "lxc",
                "connection_uri": daemon.uri("lxc"),
                "host": HOST,
                "network_bridge": f"nm{uuidlib.uuid4().hex[:8]}",
                "clean_shutdown_timeout": 5.0,
                "sync_power_state_interval": 600.0,
            }
        },
    )
    try:
        yield m
    finally:
        m.stop()


async def test_container_boots_stops_starts_and_goes(
    lxc_mesh: Mesh, guest_image: Path, daemon: libvirtd.Libvirtd
) -> None:
    image = upload_image(
        lxc_mesh, guest_image / "rootfs.tar.gz", "raw", "bare", os_command_line="/init-lxc"
    )
    with client(lxc_mesh) as c:
        resp = c.post(
            "/v2.1/servers", json={"server": {"name": "ct", "imageRef": image, "flavorRef": "42"}}
        )
        assert resp.status_code == 202, resp.text
        server_id = resp.json()["server"]["id"]
        server = wait_status(c, server_id, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == HOST
    log = SerialLog(lxc_mesh.state_dir / "libvirt" / server_id / "rootfs/var/log/console.log")
    await log.wait_boots(1, within=30)
    await log.wait_heartbeat(lambda b: "eth0" in b["nics"], what="the container's NIC")
    conn = libvirt.open(daemon.uri("lxc"))
    try:
        assert conn.lookupByUUIDString(server_id).state()[0] == libvirt.VIR_DOMAIN_RUNNING
        action(lxc_mesh, server_id, {"os-stop": None})
        with client(lxc_mesh) as c:
            wait_status(c, server_id, "SHUTOFF")
        assert "NOVAMESH-ACPI poweroff" in log.text()  # its init got SIGTERM
        action(lxc_mesh, server_id, {"os-start": None})
        with client(lxc_mesh) as c:
            wait_status(c, server_id, "ACTIVE")
        await log.wait_boots(2, within=30)
        with client(lxc_mesh) as c:
            assert c.delete(f"/v2.1/servers/{server_id}").status_code == 204
            wait_for_gone(c, server_id)
        with pytest.raises(libvirt.libvirtError):
            conn.lookupByUUIDString(server_id)
    finally:
        conn.close()
