"""Remote consoles through the whole mesh: a console URL from the API, then its websocket
through Envoy's compute port to the console proxy, which checks the token and pipes bytes to
the guest's console. The fake driver reports a console server this test runs (an RFB banner,
then an echo), as a hypervisor's VNC or serial port would be."""

from __future__ import annotations

import shutil
import socketserver
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from novamesh.gateway.testing import wsclient

from tests.e2e.helpers import client, flavor_and_image, wait_for_gone, wait_for_status
from tests.support.mesh import Mesh, start_mesh

pytestmark = pytest.mark.e2e

BANNER = b"RFB 003.008\n"


class _Console(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(BANNER)
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture(scope="module")
def console_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Console)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def console_mesh(console_port: int) -> Iterator[Mesh]:
    state = Path(tempfile.mkdtemp(prefix="novamesh-e2e-console-"))
    agent: dict[str, object] = {
        "host_count": 1,
        "fake_console_address": f"127.0.0.1:{console_port}",
    }
    mesh = start_mesh(state / "state", agent=agent)
    try:
        yield mesh
    finally:
        mesh.stop()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="module")
def server(console_mesh: Mesh) -> str:
    flavor, image = flavor_and_image(console_mesh)
    with client(console_mesh) as c:
        body = {"server": {"name": "e2e-console", "imageRef": image, "flavorRef": flavor}}
        resp = c.post("/v2.1/servers", json=body)
        assert resp.status_code == 202, resp.text
        server_id = str(resp.json()["server"]["id"])
        assert wait_for_status(c, server_id, "ACTIVE", "ERROR")["status"] == "ACTIVE"
    return server_id


def remote_console(mesh: Mesh, server: str, protocol: str, kind: str) -> str:
    with client(mesh, "2.6") as c:
        body = {"remote_console": {"protocol": protocol, "type": kind}}
        resp = c.post(f"/v2.1/servers/{server}/remote-consoles", json=body)
        assert resp.status_code == 200, resp.text
        return str(resp.json()["remote_console"]["url"])


def novnc_websocket(mesh: Mesh, page_url: str) -> tuple[str, str]:
    """(websocket URL, token) as noVNC's vnc_lite.html derives them from its page URL."""
    path = parse_qs(urlsplit(page_url).query)["path"][0]
    token = parse_qs(path.lstrip("?"))["token"][0]
    return mesh.compute_url.replace("http://", "ws://") + "/" + path, token


def test_novnc_page(console_mesh: Mesh, server: str) -> None:
    """The URL the API hands out opens noVNC's page (from the `novnc` package, when the
    machine has it; otherwise a 404 that says so)."""
    url = remote_console(console_mesh, server, "vnc", "novnc")
    page = httpx.get(url, timeout=30)
    if Path("/usr/share/novnc/vnc_lite.html").exists():
        assert page.status_code == 200 and "noVNC" in page.text
        script = httpx.get(f"{console_mesh.compute_url}/console/novnc/core/rfb.js", timeout=30)
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    else:
        assert page.status_code == 404 and "noVNC is not installed" in page.text


async def test_novnc_console_through_envoy(console_mesh: Mesh, server: str) -> None:
    url = remote_console(console_mesh, server, "vnc", "novnc")
    ws_url, token = novnc_websocket(console_mesh, url)
    # Tokens are reusable until they expire, as in Nova (a browser reload reconnects).
    for _ in range(2):
        conn = await wsclient.connect(ws_url)
        try:
            assert conn.subprotocol == "binary"
            assert await conn.recv_bytes(len(BANNER)) == BANNER
            await conn.send(b"RFB 003.008\n")
            assert await conn.recv_bytes(12) == b"RFB 003.008\n"
        finally:
            await conn.close()
    with client(console_mesh, "2.31") as c:
        info = c.get(f"/v2.1/os-console-auth-tokens/{token}").json()["console"]
    assert (info["instance_uuid"], info["host"]) == (server, "127.0.0.1")


async def test_serial_console_through_envoy(console_mesh: Mesh, server: str) -> None:
    url = remote_console(console_mesh, server, "serial", "serial")
    assert url.startswith(console_mesh.compute_url.replace("http://", "ws://") + "/console/serial/")
    conn = await wsclient.connect(url, protocols=())
    try:
        assert await conn.recv_bytes(len(BANNER)) == BANNER
        await conn.send(b"uname -a\n")
        assert await conn.recv_bytes(9) == b"uname -a\n"
    finally:
        await conn.close()


async def test_bad_tokens_and_deleted_servers_are_refused(console_mesh: Mesh) -> None:
    ws_base = console_mesh.compute_url.replace("http://", "ws://")
    with pytest.raises(wsclient.Refused) as refused:
        await wsclient.connect(f"{ws_base}/?token=not-a-token")
    assert refused.value.status == 403

    flavor, image = flavor_and_image(console_mesh)
    with client(console_mesh) as c:
        body = {"server": {"name": "e2e-console-gone", "imageRef": image, "flavorRef": flavor}}
        doomed = str(c.post("/v2.1/servers", json=body).json()["server"]["id"])
        assert wait_for_status(c, doomed, "ACTIVE", "ERROR")["status"] == "ACTIVE"
        ws_url, _ = novnc_websocket(
            console_mesh, remote_console(console_mesh, doomed, "vnc", "novnc")
        )
        c.delete(f"/v2.1/servers/{doomed}")
        wait_for_gone(c, doomed)
    with pytest.raises(wsclient.Refused) as refused:
        await wsclient.connect(ws_url)
    assert refused.value.status == 403 and "not available" in refused.value.body
