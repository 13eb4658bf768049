"""Image CRUD through the REST face, as Glance v2 answers it."""

from __future__ import annotations

import uuid
from typing import Any

Env = Any


async def test_version_documents(env: Env) -> None:
    root = await env.rest.call("ListVersions")
    assert root.status == 300
    versions = root.json()["versions"]
    current = [v for v in versions if v["status"] == "CURRENT"]
    assert len(current) == 1 and current[0]["id"].startswith("v2.")
    assert current[0]["links"] == [{"rel": "self", "href": "http://images.test:9292/v2/"}]
    explicit = await env.rest.call("GetVersions")
    assert explicit.status == 200 and explicit.json() == root.json()


async def test_create_answers_201_with_location_and_glance_shape(env: Env) -> None:
    resp = await env.rest.call(
        "CreateImage",
        body={
            "name": "cirros",
            "disk_format": "qcow2",
            "container_format": "bare",
            "hw_disk_bus": "virtio",
            "tags": ["a", "a", "b"],
        },
    )
    assert resp.status == 201
    doc = resp.json()
    assert resp.headers["location"] == f"http://images.test:9292/v2/images/{doc['id']}"
    assert resp.headers["x-openstack-request-id"]
    assert doc["status"] == "queued"
    assert doc["visibility"] == "shared"
    assert doc["owner"] == "p1"
    assert doc["protected"] is False and doc["os_hidden"] is False
    assert doc["size"] is None and doc["checksum"] is None and doc["virtual_size"] is None
    assert doc["hw_disk_bus"] == "virtio"
    assert doc["tags"] == ["a", "b"]
    assert doc["self"] == f"/v2/images/{doc['id']}"
    assert doc["file"] == f"/v2/images/{doc['id']}/file"
    assert doc["schema"] == "/v2/schemas/image"
    assert doc["created_at"].endswith("Z") and doc["updated_at"] == doc["created_at"]
    shown = await env.rest.call("GetImage", doc["id"])
    assert shown.status == 200 and shown.json() == doc


async def test_create_rejects_what_glance_rejects(env: Env) -> None:
    cases: list[tuple[object, int, str]] = [
        ({"disk_format": "floppy"}, 400, "disk_format"),
        ({"name": 5}, 400, "name"),
        ({"hw_disk_bus": 1}, 400, "hw_disk_bus"),
        ({"status": "active"}, 403, "read-only"),
        ({"self": "/x"}, 403, "read-only"),
        ({"deleted": "1"}, 403, "reserved"),
        ({"os_glance_x": "1"}, 403, "reserved"),
        ({"visibility": "public"}, 403, "publicize_image"),
        ({"owner": "someone-else"}, 403, "owned by"),
        ({"id": "not-a-uuid"}, 400, "id"),
        ([], 400, "Body expected"),
    ]
    for body, status, text in cases:
        resp = await env.rest.call("CreateImage", body=body)
        assert (resp.status, text in resp.message) == (status, True), (body, resp)
    garbage = await env.rest.call("CreateImage", raw=b"{nope")
    assert garbage.status == 400 and "Malformed JSON" in garbage.message
    listed = await env.rest.call("ListImages")
    assert listed.json()["images"] == []


async def test_admin_may_publish_and_pick_id_but_ids_are_unique(env: Env) -> None:
    image_id = str(uuid.uuid4())
    doc = await env.rest.create(token="admin", id=image_id, visibility="public", owner="p9")
    assert (doc["id"], doc["visibility"], doc["owner"]) == (image_id, "public", "p9")
    again = await env.rest.call("CreateImage", body={"id": image_id}, token="admin")
    assert again.status == 409


async def test_invisible_images_are_not_found_and_foreign_ones_forbidden(env: Env) -> None:
    private = await env.rest.create(visibility="private")
    public = await env.rest.create(token="admin:p1", visibility="public")
    assert (await env.rest.call("GetImage", private["id"], token="bob:p2")).status == 404
    assert (await env.rest.call("DeleteImage", private["id"], token="bob:p2")).status == 404
    assert (await env.rest.call("GetImage", public["id"], token="bob:p2")).status == 200
    assert (await env.rest.call("DeleteImage", public["id"], token="bob:p2")).status == 403
    assert (await env.rest.call("GetImage", str(uuid.uuid4()))).status == 404
    assert (await env.rest.call("GetImage", private["id"], token="admin:other")).status == 200


async def test_delete_is_204_and_protected_images_stay(env: Env) -> None:
    keep = await env.rest.create(protected=True)
    refused = await env.rest.call("DeleteImage", keep["id"])
    assert refused.status == 403 and "protected" in refused.message
    gone = await env.rest.create()
    deleted = await env.rest.call("DeleteImage", gone["id"])
    assert deleted.status == 204 and deleted.data == b""
    assert (await env.rest.call("GetImage", gone["id"])).status == 404


async def test_schemas_are_served(env: Env) -> None:
    image = (await env.rest.call("GetSchema", sub_id="image")).json()
    assert image["name"] == "image"
    assert image["additionalProperties"] == {"type": "string"}
    assert "qcow2" in image["properties"]["disk_format"]["enum"]
    images = (await env.rest.call("GetSchema", sub_id="images")).json()
    assert images["properties"]["images"]["items"]["name"] == "image"
    assert (await env.rest.call("GetSchema", sub_id="member")).json()["name"] == "member"
    assert (await env.rest.call("GetSchema", sub_id="nope")).status == 404
