"""Server groups through the real mesh: twenty parallel boots into an anti-affinity group never
share a host (the boots the hosts cannot take fail with NoValidHost), max_server_per_host allows
two per host, and a failed boot's owner sees the short NoValidHost fault, an admin the whole
explanation."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import client, flavor_and_image, wait_for_gone, wait_for_status
from tests.support.mesh import Mesh

pytestmark = pytest.mark.e2e

BOOTS = 20
# The groups and servers belong to a project of their own, with its quota lifted, so these
# tests neither count against nor see other tests' servers.
PROJECT = "groups-e2e"


def owner(mesh: Mesh, version: str = "2.64") -> httpx.Client:
    return httpx.Client(
        base_url=mesh.compute_url,
        headers={"X-OpenStack-Nova-API-Version": version, "X-Auth-Token": f"alice:{PROJECT}"},
        timeout=30,
    )


@pytest.fixture
def project(mesh: Mesh) -> Iterator[None]:
    unlimited = {"instances": -1, "cores": -1, "ram": -1, "server_group_members": -1}
    with client(mesh) as c:
        resp = c.put(f"/v2.1/os-quota-sets/{PROJECT}", json={"quota_set": unlimited})
        assert resp.status_code == 200, resp.text
    yield
    with client(mesh) as c:
        c.delete(f"/v2.1/os-quota-sets/{PROJECT}")


def _group(mesh: Mesh, name: str, rules: dict[str, int] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "policy": "anti-affinity"}
    if rules:
        body["rules"] = rules
    with owner(mesh) as c:
        resp = c.post("/v2.1/os-server-groups", json={"server_group": body})
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["server_group"])


def _boot_many(mesh: Mesh, group_id: str, count: int) -> list[dict[str, Any]]:
    """Boot `count` servers at once into the group; their final state as an admin sees it."""
    flavor, _ = flavor_and_image(mesh)
    image = _public_image(mesh)

    def boot(index: int) -> str:
        server = {"name": f"grp-{index}", "imageRef": image, "flavorRef": flavor}
        with owner(mesh) as c:
            resp = c.post(
                "/v2.1/servers",
                json={
                    "server": {**server, "networks": "none"},
                    "os:scheduler_hints": {"group": group_id},
                },
            )
        assert resp.status_code == 202, resp.text
        return str(resp.json()["server"]["id"])

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(boot, i) for i in range(count)]
    ids = [f.result() for f in futures if f.exception() is None]
    with client(mesh, "2.71") as c:
        servers = [wait_for_status(c, sid, "ACTIVE", "ERROR") for sid in ids]
    assert len(ids) == count, [str(f.exception()) for f in futures if f.exception()]
    return servers


def _public_image(mesh: Mesh) -> str:
    """The seeded image: the project's users cannot boot other tests' private snapshots."""
    images = httpx.get(f"{mesh.image_url}/v2/images", timeout=30).json()["images"]
    return str(
        next(i["id"] for i in images if i["status"] == "active" and i["visibility"] == "public")
    )


def _cleanup(mesh: Mesh, servers: list[dict[str, Any]], group_id: str) -> None:
    with client(mesh) as c:
        for server in servers:
            c.delete(f"/v2.1/servers/{server['id']}")
        for server in servers:
            wait_for_gone(c, server["id"])
    with owner(mesh) as c:
        assert c.delete(f"/v2.1/os-server-groups/{group_id}").status_code == 204


def _hosts(mesh: Mesh) -> int:
    return len(mesh.cfg.agent.hosts) or int(mesh.cfg.agent.host_count)


@pytest.mark.usefixtures("project")
def test_parallel_boots_into_anti_affinity_never_share_a_host(mesh: Mesh) -> None:
    group = _group(mesh, "spread")
    servers = _boot_many(mesh, group["id"], BOOTS)
    try:
        active = [s for s in servers if s["status"] == "ACTIVE"]
        hosts = [s["OS-EXT-SRV-ATTR:host"] for s in active]
        assert len(hosts) == len(set(hosts)), f"anti-affinity members share a host: {hosts}"
        assert len(active) == _hosts(mesh)
        failed = [s for s in servers if s["status"] == "ERROR"]
        assert failed
        for server in failed:
            # The admin sees what removed the hosts.
            assert "ServerGroupAntiAffinityFilter" in str(server["fault"]), server["fault"]
        with owner(mesh, "2.71") as c:
            shown = c.get(f"/v2.1/servers/{failed[0]['id']}").json()["server"]
            assert shown["fault"]["message"].startswith("No valid host was found.")
            assert "ServerGroupAntiAffinityFilter" not in str(shown["fault"])
            mine = c.get(f"/v2.1/servers/{active[0]['id']}").json()["server"]
            assert mine["server_groups"] == [group["id"]]
            members = c.get(f"/v2.1/os-server-groups/{group['id']}").json()["server_group"]
        assert set(members["members"]) == {s["id"] for s in servers}
    finally:
        _cleanup(mesh, servers, group["id"])


@pytest.mark.usefixtures("project")
def test_max_server_per_host_allows_two(mesh: Mesh) -> None:
    group = _group(mesh, "pairs", {"max_server_per_host": 2})
    servers = _boot_many(mesh, group["id"], 2 * _hosts(mesh) + 2)
    try:
        hosts = [s["OS-EXT-SRV-ATTR:host"] for s in servers if s["status"] == "ACTIVE"]
        assert len(hosts) == 2 * _hosts(mesh)
        assert all(hosts.count(h) == 2 for h in set(hosts)), hosts
        with owner(mesh) as c:
            listed = c.get("/v2.1/os-server-groups").json()["server_groups"]
        (mine,) = [g for g in listed if g["id"] == group["id"]]
        assert mine["rules"] == {"max_server_per_host": 2}
    finally:
        _cleanup(mesh, servers, group["id"])
