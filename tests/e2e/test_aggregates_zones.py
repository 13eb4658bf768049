"""Aggregates through the real mesh: an aggregate with a zone takes a host, the scheduler
mirrors it into placement (the host's provider lists the aggregate) and places a boot that asks
for the zone on that host; the zone shows in os-availability-zone."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import client, flavor_and_image, wait_for_gone, wait_for_status
from tests.support.mesh import Mesh

pytestmark = pytest.mark.e2e

MIRROR_TIMEOUT = 30.0


def _placement(mesh: Mesh, path: str) -> dict[str, Any]:
    resp = httpx.get(
        f"{mesh.placement_url}{path}",
        headers={"X-Auth-Token": "admin", "OpenStack-API-Version": "placement 1.19"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _provider_aggregates(mesh: Mesh, host: str) -> list[str]:
    (rp,) = _placement(mesh, f"/resource_providers?name={host}")["resource_providers"]
    return list(_placement(mesh, f"/resource_providers/{rp['uuid']}/aggregates")["aggregates"])


def test_zone_aggregate_is_mirrored_and_scheduled_to(mesh: Mesh) -> None:
    flavor, image = flavor_and_image(mesh)
    with client(mesh, "2.41") as c:
        zones = c.get("/v2.1/os-availability-zone/detail").json()["availabilityZoneInfo"]
        hosts = sorted(next(z for z in zones if z["zoneName"] == "nova")["hosts"])
        host = hosts[-1]
        made = c.post(
            "/v2.1/os-aggregates",
            json={"aggregate": {"name": "e2e-az", "availability_zone": "e2e"}},
        )
        assert made.status_code == 200, made.text
        agg = made.json()["aggregate"]
        added = c.post(f"/v2.1/os-aggregates/{agg['id']}/action", json={"add_host": {"host": host}})
        assert added.status_code == 200, added.text
        assert added.json()["aggregate"]["hosts"] == [host]
        server_id = ""
        try:
            deadline = time.monotonic() + MIRROR_TIMEOUT
            while agg["uuid"] not in _provider_aggregates(mesh, host):
                assert time.monotonic() < deadline, "the aggregate never reached placement"
                time.sleep(0.5)
            listed = c.get("/v2.1/os-availability-zone").json()["availabilityZoneInfo"]
            assert "e2e" in {z["zoneName"] for z in listed}
            resp = c.post(
                "/v2.1/servers",
                json={
                    "server": {
                        "name": "in-zone",
                        "imageRef": image,
                        "flavorRef": flavor,
                        "availability_zone": "e2e",
                        "networks": "none",
                    }
                },
            )
            assert resp.status_code == 202, resp.text
            server_id = resp.json()["server"]["id"]
            server = wait_for_status(c, server_id, "ACTIVE", "ERROR")
            assert server["status"] == "ACTIVE", server.get("fault")
            assert server["OS-EXT-SRV-ATTR:host"] == host
            assert server["OS-EXT-AZ:availability_zone"] == "e2e"
        finally:
            if server_id:
                c.delete(f"/v2.1/servers/{server_id}")
                wait_for_gone(c, server_id)
            c.post(f"/v2.1/os-aggregates/{agg['id']}/action", json={"remove_host": {"host": host}})
            assert c.delete(f"/v2.1/os-aggregates/{agg['id']}").status_code == 200
        deadline = time.monotonic() + MIRROR_TIMEOUT
        while agg["uuid"] in _provider_aggregates(mesh, host):
            assert time.monotonic() < deadline, "the aggregate stayed in placement"
            time.sleep(0.5)
