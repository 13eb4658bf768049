"""A user edits a running server's metadata and tags, and reads its addresses, password and
topology, through the real Envoy."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.helpers import client, flavor_and_image, wait_for_gone, wait_for_status
from tests.support.mesh import Mesh

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(mesh: Mesh) -> Iterator[str]:
    flavor, image = flavor_and_image(mesh)
    with client(mesh) as c:
        body = {"server": {"name": "e2e-sub", "imageRef": image, "flavorRef": flavor}}
        resp = c.post("/v2.1/servers", json=body)
        assert resp.status_code == 202, resp.text
        server_id = str(resp.json()["server"]["id"])
        assert wait_for_status(c, server_id, "ACTIVE", "ERROR")["status"] == "ACTIVE"
        try:
            yield server_id
        finally:
            c.delete(f"/v2.1/servers/{server_id}")
            wait_for_gone(c, server_id)


def test_metadata(mesh: Mesh, server: str) -> None:
    base = f"/v2.1/servers/{server}/metadata"
    with client(mesh) as c:
        resp = c.post(base, json={"metadata": {"foo": "bar", "a b:c.d": "1"}})
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"metadata": {"foo": "bar", "a b:c.d": "1"}}
        resp = c.put(f"{base}/foo", json={"meta": {"foo": "baz"}})
        assert (resp.status_code, resp.json()) == (200, {"meta": {"foo": "baz"}})
        assert c.get(f"{base}/a b:c.d").json() == {"meta": {"a b:c.d": "1"}}
        resp = c.delete(f"{base}/foo")
        assert (resp.status_code, resp.content) == (204, b"")
        resp = c.get(f"{base}/foo")
        assert resp.status_code == 404
        assert resp.json() == {
            "itemNotFound": {"code": 404, "message": "Metadata item was not found"}
        }
        resp = c.put(f"{base}/foo", json={"meta": {"bar": "1"}})
        assert resp.status_code == 400
        assert resp.json()["badRequest"]["message"] == "Request body and URI mismatch"
        resp = c.put(base, json={"metadata": {"only": "this"}})
        assert resp.json() == {"metadata": {"only": "this"}}
        shown = c.get(f"/v2.1/servers/{server}").json()["server"]
        assert shown["metadata"] == {"only": "this"}
        # A locked server refuses a non-admin's edit.
        assert c.post(f"/v2.1/servers/{server}/action", json={"lock": None}).status_code == 202
        member = httpx.Client(
            base_url=mesh.compute_url, headers={"X-Auth-Token": "alice:admin"}, timeout=30
        )
        with member:
            resp = member.post(base, json={"metadata": {"x": "y"}})
        assert c.post(f"/v2.1/servers/{server}/action", json={"unlock": None}).status_code == 202
        assert resp.status_code == 409, resp.text
        assert resp.json()["conflictingRequest"]["message"] == f"Instance {server} is locked"


def test_tags(mesh: Mesh, server: str) -> None:
    base = f"/v2.1/servers/{server}/tags"
    with client(mesh, "2.26") as c:
        resp = c.put(base, json={"tags": ["blue", "green"]})
        assert (resp.status_code, resp.json()) == (200, {"tags": ["blue", "green"]})
        resp = c.put(f"{base}/red")
        assert resp.status_code == 201, resp.text
        assert resp.headers["location"].endswith(f"/v2.1/servers/{server}/tags/red")
        assert c.put(f"{base}/red").status_code == 204
        assert c.get(f"{base}/red").status_code == 204
        assert c.get(f"{base}/black").status_code == 404
        assert c.get(base).json() == {"tags": ["blue", "green", "red"]}
        assert c.delete(f"{base}/blue").status_code == 204
        assert c.get(f"/v2.1/servers/{server}").json()["server"]["tags"] == ["green", "red"]
        resp = c.put(base, json={"tags": [f"t{i}" for i in range(51)]})
        assert resp.status_code == 400
        assert c.delete(base).status_code == 204
        assert c.get(base).json() == {"tags": []}
    with client(mesh, "2.25") as old:
        assert old.get(base).status_code == 404


def test_ips_password_topology(mesh: Mesh, server: str) -> None:
    with client(mesh) as c:
        addresses = c.get(f"/v2.1/servers/{server}/ips").json()["addresses"]
        assert addresses, "the fake driver gives every guest an address"
        network, entries = next(iter(addresses.items()))
        assert set(entries[0]) == {"addr", "version"}
        assert c.get(f"/v2.1/servers/{server}/ips/{network}").json() == {network: entries}
        assert c.get(f"/v2.1/servers/{server}/ips/nowhere").status_code == 404
        resp = c.get(f"/v2.1/servers/{server}/os-server-password")
        assert (resp.status_code, resp.json()) == (200, {"password": ""})
        resp = c.delete(f"/v2.1/servers/{server}/os-server-password")
        assert resp.status_code == 204
    with client(mesh, "2.78") as c:
        resp = c.get(f"/v2.1/servers/{server}/topology")
        assert (resp.status_code, resp.json()) == (200, {"nodes": [], "pagesize_kb": None})
