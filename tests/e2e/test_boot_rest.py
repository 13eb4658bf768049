"""A user boots, shows and deletes a server with plain REST, as curl or novaclient would."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import (
    client,
    flavor_and_image,
    placement_allocations,
    wait_for_gone,
    wait_for_status,
)
from tests.support.mesh import Mesh

pytestmark = pytest.mark.e2e


def test_boot_show_delete(mesh: Mesh) -> None:
    flavor, image = flavor_and_image(mesh)
    with client(mesh) as c:
        resp = c.post(
            "/v2.1/servers",
            json={"server": {"name": "e2e-rest", "imageRef": image, "flavorRef": flavor}},
        )
        assert resp.status_code == 202, resp.text
        created = resp.json()["server"]
        server_id = created["id"]
        assert created["adminPass"]
        assert resp.headers["location"].endswith(f"/v2.1/servers/{server_id}")
        assert resp.headers["openstack-api-version"] == "compute 2.1"

        server = wait_for_status(c, server_id, "ACTIVE", "ERROR")
        assert server["status"] == "ACTIVE", server.get("fault")
        assert server["OS-EXT-SRV-ATTR:host"].startswith("fake-host-")
        assert server["OS-EXT-STS:vm_state"] == "active"
        # The scheduler claimed the flavor's resources on the chosen host's provider.
        allocations = placement_allocations(mesh, server_id)
        (resources,) = [a["resources"] for a in allocations.values()]
        assert resources["MEMORY_MB"] > 0 and resources["VCPU"] >= 1

        listed = c.get("/v2.1/servers").json()["servers"]
        assert server_id in {s["id"] for s in listed}

        resp = c.delete(f"/v2.1/servers/{server_id}")
        assert resp.status_code == 204
        assert resp.content == b""
        wait_for_gone(c, server_id)
        # No allocation outlives its instance.
        assert placement_allocations(mesh, server_id) == {}


def test_show_unknown_server_is_nova_fault(mesh: Mesh) -> None:
    with client(mesh) as c:
        resp = c.get("/v2.1/servers/00000000-0000-0000-0000-00000000dead")
    assert resp.status_code == 404
    assert resp.json() == {
        "itemNotFound": {
            "code": 404,
            "message": "Instance 00000000-0000-0000-0000-00000000dead could not be found.",
        }
    }


def test_version_documents(mesh: Mesh) -> None:
    with client(mesh) as c:
        root = c.get("/")
        v21 = c.get("/v2.1")
    assert root.status_code == 200
    assert {v["id"] for v in root.json()["versions"]} == {"v2.0", "v2.1"}
    version = v21.json()["version"]
    assert (version["min_version"], version["version"]) == ("2.1", "2.104")


def test_microversion_out_of_range_is_406(mesh: Mesh) -> None:
    with client(mesh, version="2.999") as c:
        resp = c.get("/v2.1/servers")
    assert resp.status_code == 406
    assert "2.999" in resp.json()["computeFault"]["message"]
