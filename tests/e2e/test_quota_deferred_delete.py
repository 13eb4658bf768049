"""Quota with deferred delete, end to end (a mesh of its own with reclaim_instance_interval set):
a soft-deleted server frees its room as in Nova, so another boot fits; /limits and the quota
set's detail show Nova's usage; restoring over quota is Nova's 403, and within quota a 202."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import client, flavor_and_image, wait_for_status
from tests.support.mesh import Mesh, start_mesh

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def deferred_mesh() -> Iterator[Mesh]:
    state = Path(tempfile.mkdtemp(prefix="novamesh-e2e-deferred-"))
    # An hour: nothing is reclaimed while the test runs.
    mesh = start_mesh(
        state / "state",
        agent={"host_count": 1},
        extra={"api": {"reclaim_instance_interval": 3600}},
    )
    try:
        yield mesh
    finally:
        mesh.stop()
        shutil.rmtree(state, ignore_errors=True)


def _usage(user: httpx.Client, admin: httpx.Client, project: str) -> tuple[Any, ...]:
    absolute = user.get("/v2.1/limits").json()["limits"]["absolute"]
    detail = admin.get(f"/v2.1/os-quota-sets/{project}/detail").json()["quota_set"]
    return (
        absolute["totalInstancesUsed"],
        absolute["totalCoresUsed"],
        absolute["totalRAMUsed"],
        detail["instances"]["in_use"],
        detail["cores"]["in_use"],
        detail["ram"]["in_use"],
    )


def test_soft_deleted_servers_free_quota_and_restore_checks_it(deferred_mesh: Mesh) -> None:
    mesh = deferred_mesh
    flavor_id, image = flavor_and_image(mesh)
    project = f"e2e-deferred-{uuid.uuid4().hex[:6]}"
    with client(mesh, "2.57") as admin, client(mesh, "2.57") as user:
        user.headers["X-Auth-Token"] = f"u1:{project}"
        flavor = admin.get(f"/v2.1/flavors/{flavor_id}").json()["flavor"]
        vcpus, ram = flavor["vcpus"], flavor["ram"]
        resp = admin.put(f"/v2.1/os-quota-sets/{project}", json={"quota_set": {"instances": 2}})
        assert resp.status_code == 200, resp.text
        server = {"name": "d", "imageRef": image, "flavorRef": flavor_id, "networks": "none"}
        body = {"server": server}
        ids = []
        for _ in range(2):
            resp = user.post("/v2.1/servers", json=body)
            assert resp.status_code == 202, resp.text
            ids.append(resp.json()["server"]["id"])
        for sid in ids:
            wait_for_status(user, sid, "ACTIVE")
        assert user.post("/v2.1/servers", json=body).status_code == 403

        # DELETE soft-deletes (deferred delete): the server is still there, its quota is not
        assert user.delete(f"/v2.1/servers/{ids[0]}").status_code == 204
        wait_for_status(user, ids[0], "SOFT_DELETED")
        assert _usage(user, admin, project) == (1, vcpus, ram, 1, vcpus, ram)

        # the freed room takes another boot
        resp = user.post("/v2.1/servers", json=body)
        assert resp.status_code == 202, resp.text
        third = resp.json()["server"]["id"]
        wait_for_status(user, third, "ACTIVE")
        assert _usage(user, admin, project) == (2, 2 * vcpus, 2 * ram, 2, 2 * vcpus, 2 * ram)

        # restoring would go over: Nova's 403, and the server stays soft-deleted
        restore = user.post(f"/v2.1/servers/{ids[0]}/action", json={"restore": None})
        assert restore.status_code == 403, restore.text
        assert restore.json() == {
            "forbidden": {
                "code": 403,
                "message": "Quota exceeded for instances: Requested 1, but already used 2 "
                "of 2 instances",
            }
        }
        assert user.get(f"/v2.1/servers/{ids[0]}").json()["server"]["status"] == "SOFT_DELETED"

        # with room again it comes back and counts again
        resp = admin.put(f"/v2.1/os-quota-sets/{project}", json={"quota_set": {"instances": 3}})
        assert resp.status_code == 200, resp.text
        restore = user.post(f"/v2.1/servers/{ids[0]}/action", json={"restore": None})
        assert restore.status_code == 202, restore.text
        wait_for_status(user, ids[0], "ACTIVE")
        assert _usage(user, admin, project)[0] == 3
