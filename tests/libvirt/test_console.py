"""A real guest's VNC console through the whole mesh: the console URL from the API, then its
websocket through Envoy and the console proxy to QEMU's VNC server, which greets with its
RFB version banner."""

from __future__ import annotations

import contextlib
import time
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from novamesh.gateway.testing import wsclient

from tests.e2e.helpers import client, wait_for_gone
from tests.libvirt.test_mesh import upload_image, wait_status
from tests.support import libvirtd, nsrelay
from tests.support.mesh import Mesh, start_mesh

HOST = "lv-console-host"


@pytest.fixture(scope="module")
def mesh(daemon: libvirtd.Libvirtd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    m = start_mesh(
        tmp_path_factory.mktemp("lvconsole"),
        agent={"driver": "libvirt", "host_count": 1},
        extra={
            "libvirt": {
                "connection_uri": daemon.uri(),
                "host": HOST,
                "network_bridge": f"nm{uuidlib.uuid4().hex[:8]}",
            },
        },
    )
    try:
        yield m
    finally:
        m.stop()


@pytest.fixture(scope="module")
def server(mesh: Mesh, guest_image: Path) -> Iterator[dict[str, Any]]:
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
        body = {"server": {"name": "lv-console", "imageRef": image, "flavorRef": "42"}}
        resp = c.post("/v2.1/servers", json=body)
        assert resp.status_code == 202, resp.text
        server_id = resp.json()["server"]["id"]
        yield wait_status(c, server_id, "ACTIVE")
        c.delete(f"/v2.1/servers/{server_id}")
        wait_for_gone(c, server_id)


async def test_novnc_websocket_reaches_the_guests_vnc_server(
    mesh: Mesh, server: dict[str, Any], daemon: libvirtd.Libvirtd
) -> None:
    with client(mesh, "2.6") as c:
        resp = c.post(
            f"/v2.1/servers/{server['id']}/remote-consoles",
            json={"remote_console": {"protocol": "vnc", "type": "novnc"}},
        )
        assert resp.status_code == 200, resp.text
        url = resp.json()["remote_console"]["url"]
    # What noVNC's vnc_lite.html opens: the page's `path` parameter under the page's host.
    path = parse_qs(urlsplit(url).query)["path"][0]
    ws_url = mesh.compute_url.replace("http://", "ws://") + "/" + path
    with client(mesh, "2.31") as c:
        token = parse_qs(path.lstrip("?"))["token"][0]
        info = c.get(f"/v2.1/os-console-auth-tokens/{token}").json()["console"]
    assert info["instance_uuid"] == server["id"] and info["port"] >= 5900
    # QEMU's VNC server is on the test daemon's private loopback: bring it here.
    async with contextlib.AsyncExitStack() as stack:
        try:
            await stack.enter_async_context(nsrelay.relay(daemon.pid, info["host"], info["port"]))
        except OSError as err:
            pytest.skip(f"cannot relay {info['host']}:{info['port']} here: {err}")
        started = time.monotonic()
        conn = await wsclient.connect(ws_url)
        try:
            assert await conn.recv_bytes(12) == b"RFB 003.008\n"
            # The client's version echoed back: QEMU answers with its security types.
            await conn.send(b"RFB 003.008\n")
            security = await conn.recv_bytes(2)
            assert security[0] >= 1
        finally:
            await conn.close()
        assert time.monotonic() - started < 10
