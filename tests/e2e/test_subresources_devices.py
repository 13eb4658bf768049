"""A server's devices through the whole mesh (Envoy, gateway, router, agent with the fake
driver): diagnostics, a remote console and its token, an attached port, and a volume from the
os-volumes proxy attached, swapped and detached."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.helpers import client, flavor_and_image, wait_for_gone, wait_for_status
from tests.support.mesh import Mesh

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(mesh: Mesh) -> Iterator[str]:
    flavor, image = flavor_and_image(mesh)
    with client(mesh) as c:
        body = {"server": {"name": "e2e-devices", "imageRef": image, "flavorRef": flavor}}
        resp = c.post("/v2.1/servers", json=body)
        assert resp.status_code == 202, resp.text
        server_id = str(resp.json()["server"]["id"])
        assert wait_for_status(c, server_id, "ACTIVE", "ERROR")["status"] == "ACTIVE"
        try:
            yield server_id
        finally:
            c.delete(f"/v2.1/servers/{server_id}")
            wait_for_gone(c, server_id)


def test_diagnostics(mesh: Mesh, server: str) -> None:
    with client(mesh, "2.48") as c:
        resp = c.get(f"/v2.1/servers/{server}/diagnostics")
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert (body["state"], body["driver"]) == ("running", "fake")
        assert body["num_cpus"] == len(body["cpu_details"]) >= 1
        assert body["nic_details"][0]["mac_address"].startswith("fa:16:3e:")
    with client(mesh) as c:
        legacy = c.get(f"/v2.1/servers/{server}/diagnostics").json()
        assert "cpu0_time" in legacy and "memory" in legacy


def test_remote_console_and_token(mesh: Mesh, server: str) -> None:
    with client(mesh, "2.6") as c:
        body = {"remote_console": {"protocol": "vnc", "type": "novnc"}}
        resp = c.post(f"/v2.1/servers/{server}/remote-consoles", json=body)
        assert resp.status_code == 200, resp.text
        url = resp.json()["remote_console"]["url"]
        assert url.startswith(mesh.compute_url.rstrip("/") + "/console/novnc/")
        token = url.rsplit("%3D", 1)[1]
    with client(mesh, "2.31") as c:
        info = c.get(f"/v2.1/os-console-auth-tokens/{token}")
        assert info.status_code == 200, info.text
        console = info.json()["console"]
        assert console["instance_uuid"] == server and console["port"] >= 5900
    with client(mesh, "2.1") as c:
        resp = c.post(
            f"/v2.1/servers/{server}/action", json={"os-getSPICEConsole": {"type": "spice-html5"}}
        )
        assert resp.status_code == 200, resp.text
        assert "/console/spice/spice_auto.html?token=" in resp.json()["console"]["url"]


def test_interface_attach_detach(mesh: Mesh, server: str) -> None:
    with client(mesh, "2.70") as c:
        base = f"/v2.1/servers/{server}/os-interface"
        before = c.get(base).json()["interfaceAttachments"]
        resp = c.post(base, json={"interfaceAttachment": {"tag": "second"}})
        assert resp.status_code == 200, resp.text
        port = resp.json()["interfaceAttachment"]
        assert port["tag"] == "second" and port["fixed_ips"][0]["ip_address"]
        after = c.get(base).json()["interfaceAttachments"]
        assert len(after) == len(before) + 1
        addresses = c.get(f"/v2.1/servers/{server}/ips").json()["addresses"]
        assert port["fixed_ips"][0]["ip_address"] in {
            a["addr"] for entries in addresses.values() for a in entries
        }
        assert c.delete(f"{base}/{port['port_id']}").status_code == 202
        assert c.get(f"{base}/{port['port_id']}").status_code == 404


def test_volume_attach_swap_detach(mesh: Mesh, server: str) -> None:
    with client(mesh) as c:
        vol = c.post("/v2.1/os-volumes", json={"volume": {"size": 1, "display_name": "v1"}})
        assert vol.status_code == 200, vol.text
        first = vol.json()["volume"]["id"]
        second = c.post("/v2.1/os-volumes", json={"volume": {"size": 2}}).json()["volume"]["id"]
    base = f"/v2.1/servers/{server}/os-volume_attachments"
    with client(mesh, "2.89") as c:
        body = {"volumeAttachment": {"volumeId": first, "tag": "data"}}
        resp = c.post(base, json=body)
        assert resp.status_code == 200, resp.text
        att = resp.json()["volumeAttachment"]
        # Nova answers an attach in its pre-2.89 shape; the list names the BDM.
        assert att["device"] == "/dev/vdb" and att["tag"] == "data" and att["id"] == first
        (listed,) = c.get(base).json()["volumeAttachments"]
        assert listed["volumeId"] == first and listed["bdm_uuid"]
        resp = c.put(f"{base}/{first}", json={"volumeAttachment": {"volumeId": second}})
        assert resp.status_code == 202, resp.text
        (swapped,) = c.get(base).json()["volumeAttachments"]
        assert (swapped["volumeId"], swapped["device"]) == (second, "/dev/vdb")
    with client(mesh) as c:
        assert c.get(f"/v2.1/os-volumes/{second}").json()["volume"]["status"] == "in-use"
        assert c.get(f"/v2.1/os-volumes/{first}").json()["volume"]["status"] == "available"
        assert c.delete(f"{base}/{second}").status_code == 202
        assert c.get(base).json()["volumeAttachments"] == []
        assert c.get(f"/v2.1/os-volumes/{second}").json()["volume"]["status"] == "available"
        for vid in (first, second):
            assert c.delete(f"/v2.1/os-volumes/{vid}").status_code == 202
