"""PATCH (both JSON-patch dialects), tags and members."""

from __future__ import annotations

from typing import Any

Env = Any
V21 = "application/openstack-images-v2.1-json-patch"
V20 = "application/openstack-images-v2.0-json-patch"


async def patch(env: Env, image_id: str, ops: object, ct: str = V21, token: str = "alice:p1"):  # type: ignore[no-untyped-def]
    return await env.rest.call("UpdateImage", image_id, body=ops, content_type=ct, token=token)


async def test_patch_replaces_adds_and_removes(env: Env) -> None:
    image = await env.rest.create(name="old", os_distro="cirros")
    resp = await patch(
        env,
        image["id"],
        [
            {"op": "replace", "path": "/name", "value": "new"},
            {"op": "add", "path": "/hw_disk_bus", "value": "scsi"},
            {"op": "replace", "path": "/os_distro", "value": "ubuntu"},
            {"op": "add", "path": "/min_ram", "value": 512},
            {"op": "replace", "path": "/tags", "value": ["t1", "t2"]},
            {"op": "add", "path": "/a~1b", "value": "slash"},
        ],
    )
    assert resp.status == 200, resp
    doc = resp.json()
    assert (doc["name"], doc["hw_disk_bus"], doc["os_distro"]) == ("new", "scsi", "ubuntu")
    assert doc["min_ram"] == 512 and doc["tags"] == ["t1", "t2"] and doc["a/b"] == "slash"
    removed = await patch(env, image["id"], [{"op": "remove", "path": "/os_distro"}])
    assert "os_distro" not in removed.json()
    assert (await env.rest.call("GetImage", image["id"])).json() == removed.json()


async def test_patch_refusals(env: Env) -> None:
    image = await env.rest.create(name="x")
    cases: list[tuple[object, int]] = [
        ([{"op": "replace", "path": "/status", "value": "active"}], 403),
        ([{"op": "remove", "path": "/name"}], 403),
        ([{"op": "replace", "path": "/nope", "value": "v"}], 409),
        ([{"op": "remove", "path": "/nope"}], 409),
        ([{"op": "replace", "path": "/min_ram", "value": "lots"}], 400),
        ([{"op": "add", "path": "/prop", "value": 3}], 400),
        ([{"op": "move", "path": "/name", "value": "y"}], 400),
        ([{"op": "add", "path": "/a/b", "value": "y"}], 400),
        ([{"op": "add", "path": "name", "value": "y"}], 400),
        ([{"op": "replace", "path": "/visibility", "value": "public"}], 403),
        ([{"op": "replace", "path": "/owner", "value": "p2"}], 403),
        ({"op": "replace"}, 400),
    ]
    for ops, status in cases:
        resp = await patch(env, image["id"], ops)
        assert resp.status == status, (ops, resp)
    wrong_type = await patch(env, image["id"], [], ct="application/json")
    assert wrong_type.status == 415 and V21 in wrong_type.message
    assert (await env.rest.call("GetImage", image["id"])).json()["name"] == "x"


async def test_patch_v20_dialect(env: Env) -> None:
    image = await env.rest.create(name="x", prop="1")
    resp = await patch(env, image["id"], [{"replace": "/name", "value": "y"}], ct=V20)
    assert resp.status == 200 and resp.json()["name"] == "y"
    dup = await patch(env, image["id"], [{"add": "/prop", "value": "2"}], ct=V20)
    assert dup.status == 409


async def test_patch_needs_ownership(env: Env) -> None:
    image = await env.rest.create(token="admin:ops", visibility="public")
    resp = await patch(env, image["id"], [{"op": "replace", "path": "/name", "value": "z"}])
    assert resp.status == 403


async def test_tags(env: Env) -> None:
    image = await env.rest.create()
    for tag in ("b", "a", "b"):
        assert (await env.rest.call("AddImageTag", image["id"], tag)).status == 204
    assert (await env.rest.call("GetImage", image["id"])).json()["tags"] == ["b", "a"]
    assert (await env.rest.call("DeleteImageTag", image["id"], "b")).status == 204
    assert (await env.rest.call("DeleteImageTag", image["id"], "b")).status == 404
    assert (await env.rest.call("AddImageTag", image["id"], "x" * 256)).status == 400
    assert (await env.rest.call("GetImage", image["id"])).json()["tags"] == ["a"]


async def test_members_share_an_image_with_another_project(env: Env) -> None:
    image = await env.rest.create(name="shared-one")
    iid = image["id"]
    assert (await env.rest.call("GetImage", iid, token="bob:p2")).status == 404
    added = await env.rest.call("CreateImageMember", iid, body={"member": "p2"})
    assert added.status == 200
    assert added.json()["status"] == "pending" and added.json()["member_id"] == "p2"
    dup = await env.rest.call("CreateImageMember", iid, body={"member": "p2"})
    assert dup.status == 409

    # Pending: visible by id, listed only when asked for.
    assert (await env.rest.call("GetImage", iid, token="bob:p2")).status == 200
    listed = await env.rest.call("ListImages", path="/v2/images", token="bob:p2")
    assert listed.json()["images"] == []
    pending = await env.rest.call(
        "ListImages", path="/v2/images?member_status=pending", token="bob:p2"
    )
    assert [i["id"] for i in pending.json()["images"]] == [iid]

    # Only the consumer answers.
    by_owner = await env.rest.call("UpdateImageMember", iid, "p2", body={"status": "accepted"})
    assert by_owner.status == 403
    accepted = await env.rest.call(
        "UpdateImageMember", iid, "p2", body={"status": "accepted"}, token="bob:p2"
    )
    assert accepted.status == 200 and accepted.json()["status"] == "accepted"
    listed = await env.rest.call("ListImages", path="/v2/images", token="bob:p2")
    assert [i["id"] for i in listed.json()["images"]] == [iid]

    members = await env.rest.call("ListImageMembers", iid)
    assert [m["member_id"] for m in members.json()["members"]] == ["p2"]
    assert members.json()["schema"] == "/v2/schemas/members"
    assert (await env.rest.call("GetImageMember", iid, "p2", token="bob:p2")).status == 200
    assert (await env.rest.call("DeleteImageMember", iid, "p2", token="bob:p2")).status == 403
    assert (await env.rest.call("DeleteImageMember", iid, "p2")).status == 204
    assert (await env.rest.call("GetImage", iid, token="bob:p2")).status == 404


async def test_only_shared_images_have_members(env: Env) -> None:
    image = await env.rest.create(visibility="private")
    resp = await env.rest.call("CreateImageMember", image["id"], body={"member": "p2"})
    assert resp.status == 403
    bad = await env.rest.create()
    assert (await env.rest.call("CreateImageMember", bad["id"], body={"who": "p2"})).status == 400
