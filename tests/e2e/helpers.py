"""What the end-to-end tests do over and over: find a flavor and image, wait for a status."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.support.mesh import Mesh

ACTIVE_TIMEOUT = 60.0


def client(mesh: Mesh, version: str = "2.1") -> httpx.Client:
    return httpx.Client(
        base_url=mesh.compute_url,
        headers={"X-OpenStack-Nova-API-Version": version, "X-Auth-Token": "admin:admin"},
        timeout=30,
    )


def flavor_and_image(mesh: Mesh) -> tuple[str, str]:
    with client(mesh) as c:
        flavors = c.get("/v2.1/flavors/detail").json()["flavors"]
    tiny = min(flavors, key=lambda f: (f["ram"], f["id"]))
    images = httpx.get(f"{mesh.image_url}/v2/images", timeout=30).json()["images"]
    active = [i for i in images if i["status"] == "active"]
    assert active, "the launcher seeds an image"
    return tiny["id"], active[0]["id"]


def wait_for_status(c: httpx.Client, server_id: str, *statuses: str) -> dict[str, Any]:
    deadline = time.monotonic() + ACTIVE_TIMEOUT
    server: dict[str, Any] = {}
    while time.monotonic() < deadline:
        resp = c.get(f"/v2.1/servers/{server_id}")
        assert resp.status_code == 200, resp.text
        server = resp.json()["server"]
        if server["status"] in statuses:
            return server
        time.sleep(0.1)
    raise AssertionError(f"server {server_id} stayed {server.get('status')}, wanted {statuses}")


def wait_for_gone(c: httpx.Client, server_id: str) -> None:
    deadline = time.monotonic() + ACTIVE_TIMEOUT
    while time.monotonic() < deadline:
        if c.get(f"/v2.1/servers/{server_id}").status_code == 404:
            return
        time.sleep(0.1)
    raise AssertionError(f"server {server_id} was not deleted")


def placement_allocations(mesh: Mesh, consumer: str) -> dict[str, Any]:
    resp = httpx.get(
        f"{mesh.placement_url}/allocations/{consumer}",
        headers={"X-Auth-Token": "admin", "OpenStack-API-Version": "placement 1.28"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    allocations: dict[str, Any] = resp.json()["allocations"]
    return allocations
