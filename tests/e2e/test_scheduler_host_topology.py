"""NUMA cells and PCI devices end to end: the fake agent simulates them, the router keeps them,
the scheduler's NUMATopologyFilter and PciPassthroughFilter place by them (a mesh of its own with
those filters on and two GPUs per host)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import client, flavor_and_image, wait_for_gone, wait_for_status
from tests.support.mesh import Mesh, start_mesh

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def topo_mesh() -> Iterator[Mesh]:
    state = Path(tempfile.mkdtemp(prefix="novamesh-e2e-topology-"))
    mesh = start_mesh(
        state / "state",
        agent={"host_count": 2, "numa_nodes": 2, "pci_devices": "10de:1eb8:2"},
        extra={
            "scheduler": {
                "enabled_filters": "ComputeFilter,NUMATopologyFilter,PciPassthroughFilter",
                "pci_alias": "gpu:10de:1eb8",
            }
        },
    )
    try:
        yield mesh
    finally:
        mesh.stop()
        shutil.rmtree(state, ignore_errors=True)


def _flavor(c: httpx.Client, flavor_id: str, specs: dict[str, str]) -> str:
    body = {
        "flavor": {"name": f"f-{flavor_id}", "ram": 512, "vcpus": 2, "disk": 1, "id": flavor_id}
    }
    resp = c.post("/v2.1/flavors", json=body)
    assert resp.status_code == 200, resp.text
    resp = c.post(f"/v2.1/flavors/{flavor_id}/os-extra_specs", json={"extra_specs": specs})
    assert resp.status_code == 200, resp.text
    return flavor_id


def _boot(c: httpx.Client, image: str, flavor: str) -> dict[str, Any]:
    resp = c.post(
        "/v2.1/servers",
        json={"server": {"name": f"topo-{flavor}", "imageRef": image, "flavorRef": flavor}},
    )
    assert resp.status_code == 202, resp.text
    return wait_for_status(c, resp.json()["server"]["id"], "ACTIVE", "ERROR")


@pytest.mark.parametrize(
    ("flavor_id", "specs", "status", "explained_by"),
    [
        ("101", {"hw:numa_nodes": "2"}, "ACTIVE", ""),
        ("102", {"hw:numa_nodes": "3"}, "ERROR", "NUMATopologyFilter removed 2"),
        ("103", {"pci_passthrough:alias": "gpu:2"}, "ACTIVE", ""),
        ("104", {"pci_passthrough:alias": "gpu:3"}, "ERROR", "PciPassthroughFilter removed 2"),
    ],
)
def test_numa_and_pci_requests(
    topo_mesh: Mesh, flavor_id: str, specs: dict[str, str], status: str, explained_by: str
) -> None:
    _, image = flavor_and_image(topo_mesh)
    with client(topo_mesh) as c:
        flavor = _flavor(c, flavor_id, specs)
        server = _boot(c, image, flavor)
        try:
            assert server["status"] == status, server.get("fault")
            if explained_by:
                assert explained_by in server["fault"]["details"], server["fault"]
        finally:
            c.delete(f"/v2.1/servers/{server['id']}")
            wait_for_gone(c, server["id"])


def test_pci_devices_are_held_per_guest_and_picks_are_seen_within_a_request(
    topo_mesh: Mesh,
) -> None:
    """Two hosts of two GPUs: a two-instance request for both GPUs of a host lands on both
    hosts, the agents then report no free GPU so a third guest finds no host, and a deleted
    guest's devices are free again. (That the scheduler's own picks take devices out of its
    view is proven by its unit tests: here the weighers would spread the two anyway.)"""
    _, image = flavor_and_image(topo_mesh)
    with client(topo_mesh, "2.1") as c:
        both = _flavor(c, "105", {"pci_passthrough:alias": "gpu:2"})
        one = _flavor(c, "106", {"pci_passthrough:alias": "gpu:1"})
        body = {"name": "gpus", "imageRef": image, "flavorRef": both, "min_count": 2}
        body["return_reservation_id"] = True
        resp = c.post("/v2.1/servers", json={"server": body})
        assert resp.status_code == 202, resp.text
        rid = resp.json()["reservation_id"]
        listed = c.get(f"/v2.1/servers/detail?reservation_id={rid}").json()["servers"]
        assert len(listed) == 2
        servers = [wait_for_status(c, s["id"], "ACTIVE", "ERROR") for s in listed]
        late: dict[str, Any] = {}
        try:
            assert [s["status"] for s in servers] == ["ACTIVE", "ACTIVE"]
            hosts = {s["OS-EXT-SRV-ATTR:host"] for s in servers}
            assert len(hosts) == 2
            late = _boot(c, image, one)
            assert late["status"] == "ERROR"
            assert "PciPassthroughFilter removed 2" in late["fault"]["details"], late["fault"]
        finally:
            for s in [*servers, late]:
                if s:
                    c.delete(f"/v2.1/servers/{s['id']}")
            for s in [*servers, late]:
                if s:
                    wait_for_gone(c, s["id"])
        again = _boot(c, image, one)
        try:
            assert again["status"] == "ACTIVE", again.get("fault")
        finally:
            c.delete(f"/v2.1/servers/{again['id']}")
            wait_for_gone(c, again["id"])
