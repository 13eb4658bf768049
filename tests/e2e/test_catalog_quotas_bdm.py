"""Through the real Envoy: booting as `openstack server create` does (with a block device
mapping), flavor extra specs and access, quotas enforced on boot, limits, network proxies,
boot from volume (an existing volume, one made from an image, the legacy mapping)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.helpers import client, flavor_and_image, wait_for_gone, wait_for_status
from tests.support.mesh import Mesh

pytestmark = pytest.mark.e2e


def _as(mesh: Mesh, token: str, version: str = "2.1") -> httpx.Client:
    c = client(mesh, version)
    c.headers["X-Auth-Token"] = token
    return c


def _eventually(read: Callable[[], object], want: object) -> None:
    """What the router does just after a server disappears from view (records, volumes)."""
    deadline = time.monotonic() + 10
    while read() != want and time.monotonic() < deadline:
        time.sleep(0.05)
    assert read() == want


def _root(image: str) -> dict[str, object]:
    return {
        "boot_index": 0,
        "uuid": image,
        "source_type": "image",
        "destination_type": "local",
        "delete_on_termination": True,
    }


def test_boot_with_the_clis_block_device_mapping(mesh: Mesh) -> None:
    flavor, image = flavor_and_image(mesh)
    server = {"name": "e2e-bdm", "imageRef": image, "flavorRef": flavor, "networks": "auto"}
    with client(mesh, "2.90") as c:
        resp = c.post(
            "/v2.1/servers",
            json={"server": {**server, "block_device_mapping_v2": [_root(image)]}},
        )
        assert resp.status_code == 202, resp.text
        server_id = resp.json()["server"]["id"]
        assert wait_for_status(c, server_id, "ACTIVE", "ERROR")["status"] == "ACTIVE"
        assert c.delete(f"/v2.1/servers/{server_id}").status_code == 204
        wait_for_gone(c, server_id)


def test_flavor_extra_specs_and_access(mesh: Mesh) -> None:
    flavor_id = f"e2e-{uuid.uuid4().hex[:8]}"
    with client(mesh, "2.86") as c:
        body = {"flavor": {"name": flavor_id, "ram": 256, "vcpus": 1, "disk": 1, "id": flavor_id}}
        body["flavor"]["os-flavor-access:is_public"] = False
        assert c.post("/v2.1/flavors", json=body).status_code == 200
        specs = c.post(
            f"/v2.1/flavors/{flavor_id}/os-extra_specs",
            json={"extra_specs": {"hw:numa_nodes": "1", "hw:cpu_policy": "shared"}},
        )
        assert specs.status_code == 200, specs.text
        one = c.get(f"/v2.1/flavors/{flavor_id}/os-extra_specs/hw:numa_nodes")
        assert one.json() == {"hw:numa_nodes": "1"}
        bad = c.post(
            f"/v2.1/flavors/{flavor_id}/os-extra_specs",
            json={"extra_specs": {"hw:cpu_policy": "fastest"}},
        )
        assert bad.status_code == 400
        assert bad.json()["badRequest"]["message"].startswith("Validation failed;")
        shown = c.get(f"/v2.1/flavors/{flavor_id}").json()["flavor"]
        assert shown["extra_specs"] == {"hw:numa_nodes": "1", "hw:cpu_policy": "shared"}
        deleted = c.delete(f"/v2.1/flavors/{flavor_id}/os-extra_specs/hw:cpu_policy")
        assert deleted.status_code == 202

        with _as(mesh, "e2e-user:e2e-access") as member:
            assert member.get(f"/v2.1/flavors/{flavor_id}").status_code == 404
            add = {"addTenantAccess": {"tenant": "e2e-access"}}
            added = c.post(f"/v2.1/flavors/{flavor_id}/action", json=add)
            assert added.json() == {
                "flavor_access": [{"flavor_id": flavor_id, "tenant_id": "e2e-access"}]
            }
            assert member.get(f"/v2.1/flavors/{flavor_id}").status_code == 200
            listed = c.get(f"/v2.1/flavors/{flavor_id}/os-flavor-access").json()
            assert listed == added.json()
        assert c.delete(f"/v2.1/flavors/{flavor_id}").status_code == 202


def _public_image(mesh: Mesh) -> str:
    """An image another project may boot (other tests leave private snapshots about)."""
    images = httpx.get(f"{mesh.image_url}/v2/images", timeout=30).json()["images"]
    return str(
        next(i["id"] for i in images if i["status"] == "active" and i["visibility"] == "public")
    )


def test_quota_enforced_on_boot(mesh: Mesh) -> None:
    flavor, _ = flavor_and_image(mesh)
    image = _public_image(mesh)
    project = f"e2e-quota-{uuid.uuid4().hex[:6]}"
    with client(mesh, "2.57") as admin, _as(mesh, f"u1:{project}", "2.57") as user:
        set_quota = admin.put(
            f"/v2.1/os-quota-sets/{project}", json={"quota_set": {"instances": 1}}
        )
        assert set_quota.status_code == 200, set_quota.text
        assert set_quota.json()["quota_set"]["instances"] == 1
        server = {
            "server": {"name": "q", "imageRef": image, "flavorRef": flavor, "networks": "auto"}
        }
        first = user.post("/v2.1/servers", json=server)
        assert first.status_code == 202, first.text
        second = user.post("/v2.1/servers", json=server)
        assert second.status_code == 403
        assert second.json() == {
            "forbidden": {
                "code": 403,
                "message": "Quota exceeded for instances: Requested 1, but already used 1 "
                "of 1 instances",
            }
        }
        limits = user.get("/v2.1/limits").json()["limits"]["absolute"]
        assert (limits["maxTotalInstances"], limits["totalInstancesUsed"]) == (1, 1)
        detail = admin.get(f"/v2.1/os-quota-sets/{project}/detail").json()["quota_set"]
        assert detail["instances"] == {"in_use": 1, "limit": 1, "reserved": 0}

        server_id = first.json()["server"]["id"]
        wait_for_status(user, server_id, "ACTIVE", "ERROR")
        assert user.delete(f"/v2.1/servers/{server_id}").status_code == 204
        wait_for_gone(user, server_id)
        _eventually(
            lambda: user.get("/v2.1/limits").json()["limits"]["absolute"]["totalInstancesUsed"], 0
        )
        assert admin.delete(f"/v2.1/os-quota-sets/{project}").status_code == 202


def test_network_proxies(mesh: Mesh) -> None:
    with client(mesh) as c:
        networks = c.get("/v2.1/os-networks").json()["networks"]
        assert [n["label"] for n in networks] == ["private", "public"]
        tenant = c.get(f"/v2.1/os-tenant-networks/{networks[0]['id']}").json()
        assert tenant["network"]["label"] == "private"
    with client(mesh, "2.36") as c:
        assert c.get("/v2.1/os-networks").status_code == 404


def test_boot_from_a_volume_and_give_it_back(mesh: Mesh) -> None:
    flavor, _ = flavor_and_image(mesh)
    with client(mesh, "2.35") as c:
        created = c.post("/v2.1/os-volumes", json={"volume": {"size": 1}})
        assert created.status_code == 200, created.text
        volume_id = created.json()["volume"]["id"]
        root = {
            "boot_index": 0,
            "uuid": volume_id,
            "source_type": "volume",
            "destination_type": "volume",
        }
        server = {"name": "e2e-bfv", "flavorRef": flavor, "block_device_mapping_v2": [root]}
        resp = c.post("/v2.1/servers", json={"server": server})
        assert resp.status_code == 202, resp.text
        server_id = resp.json()["server"]["id"]
        shown = wait_for_status(c, server_id, "ACTIVE", "ERROR")
        assert shown["status"] == "ACTIVE", shown.get("fault")
        assert shown["image"] == ""
        attached = shown["os-extended-volumes:volumes_attached"]
        assert attached == [{"id": volume_id, "delete_on_termination": False}]
        attachments = c.get(f"/v2.1/servers/{server_id}/os-volume_attachments").json()
        assert [a["volumeId"] for a in attachments["volumeAttachments"]] == [volume_id]
        assert c.get(f"/v2.1/os-volumes/{volume_id}").json()["volume"]["status"] == "in-use"
        taken = c.post("/v2.1/servers", json={"server": {**server, "name": "e2e-bfv-2"}})
        assert taken.status_code == 400
        assert c.delete(f"/v2.1/servers/{server_id}").status_code == 204
        wait_for_gone(c, server_id)
        _eventually(
            lambda: c.get(f"/v2.1/os-volumes/{volume_id}").json()["volume"]["status"], "available"
        )
        assert c.delete(f"/v2.1/os-volumes/{volume_id}").status_code == 202


def _volumes(c: httpx.Client) -> dict[str, dict[str, object]]:
    listed = c.get("/v2.1/os-volumes/detail")
    assert listed.status_code == 200, listed.text
    return {v["id"]: v for v in listed.json()["volumes"]}


def test_boot_from_a_volume_made_from_an_image(mesh: Mesh) -> None:
    flavor, image = flavor_and_image(mesh)
    with client(mesh, "2.35") as c:
        before = _volumes(c)
        root = {
            "boot_index": 0,
            "uuid": image,
            "source_type": "image",
            "destination_type": "volume",
            "volume_size": 1,
        }
        blank = {"source_type": "blank", "destination_type": "volume", "boot_index": 1}
        server = {"name": "e2e-bfv-image", "flavorRef": flavor}
        for bad in ([{**root, "volume_size": None}], [root, blank], [{**root, "boot_index": 1}]):
            refused = c.post(
                "/v2.1/servers",
                json={"server": {**server, "imageRef": "", "block_device_mapping_v2": bad}},
            )
            assert refused.status_code == 400, refused.text
        assert _volumes(c) == before
        mapping = [{**root, "delete_on_termination": True}, {**blank, "volume_size": 2}]
        resp = c.post(
            "/v2.1/servers", json={"server": {**server, "block_device_mapping_v2": mapping}}
        )
        assert resp.status_code == 202, resp.text
        server_id = resp.json()["server"]["id"]
        shown = wait_for_status(c, server_id, "ACTIVE", "ERROR")
        assert shown["status"] == "ACTIVE", shown.get("fault")
        assert shown["image"] == ""
        attached = shown["os-extended-volumes:volumes_attached"]
        assert len(attached) == 2 and not any(a["id"] in before for a in attached)
        volumes = _volumes(c)
        sizes = sorted((volumes[a["id"]]["size"], volumes[a["id"]]["status"]) for a in attached)
        assert sizes == [(1, "in-use"), (2, "in-use")]
        devices = {
            a["volumeId"]: a["device"]
            for a in c.get(f"/v2.1/servers/{server_id}/os-volume_attachments").json()[
                "volumeAttachments"
            ]
        }
        root_id = next(v for v, d in devices.items() if d == "/dev/vda")
        blank_id = next(v for v, d in devices.items() if d == "/dev/vdb")
        assert volumes[root_id]["size"] == 1
        assert c.delete(f"/v2.1/servers/{server_id}").status_code == 204
        wait_for_gone(c, server_id)
        # delete_on_termination: the root goes with the server, the blank one is given back.
        _eventually(lambda: c.get(f"/v2.1/os-volumes/{root_id}").status_code, 404)
        _eventually(
            lambda: c.get(f"/v2.1/os-volumes/{blank_id}").json()["volume"]["status"], "available"
        )
        assert c.delete(f"/v2.1/os-volumes/{blank_id}").status_code == 202


def test_boot_from_a_volume_with_the_legacy_mapping(mesh: Mesh) -> None:
    flavor, _ = flavor_and_image(mesh)
    with client(mesh, "2.35") as c:
        volume_id = c.post("/v2.1/os-volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
        legacy = [{"volume_id": volume_id, "device_name": "vda", "delete_on_termination": True}]
        server = {"name": "e2e-bfv-legacy", "flavorRef": flavor, "block_device_mapping": legacy}
        resp = c.post("/v2.1/servers", json={"server": server})
        assert resp.status_code == 202, resp.text
        server_id = resp.json()["server"]["id"]
        shown = wait_for_status(c, server_id, "ACTIVE", "ERROR")
        assert shown["status"] == "ACTIVE", shown.get("fault")
        attached = shown["os-extended-volumes:volumes_attached"]
        assert attached == [{"id": volume_id, "delete_on_termination": True}]
        assert c.delete(f"/v2.1/servers/{server_id}").status_code == 204
        wait_for_gone(c, server_id)
        _eventually(lambda: c.get(f"/v2.1/os-volumes/{volume_id}").status_code, 404)
