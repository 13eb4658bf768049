"""Server metadata: list, merge, replace, item show/set/delete, and Nova's 400/403/404/409."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.gateway.testing.harness import Gateway, Response
from novamesh.gateway.testing.subresources import boot, gateway


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with gateway(tmp_path) as gw:
        yield gw


async def call(
    gw: Gateway, rpc: str, sid: str, key: str = "", body: object = None, token: str = "alice:p1"
) -> Response:
    path = f"/v2.1/servers/{sid}/metadata" + (f"/{key}" if key else "")
    return await gw.rest(f"metadata.{rpc}", id=sid, sub_id=key, path=path, body=body, token=token)


async def test_merge_replace_and_items(gw: Gateway) -> None:
    sid = await boot(gw)
    resp = await call(gw, "CreateServerMetadata", sid, body={"metadata": {"a": "1", "b": "2"}})
    assert (resp.status, resp.body) == (200, {"metadata": {"a": "1", "b": "2"}})
    resp = await call(gw, "CreateServerMetadata", sid, body={"metadata": {"b": "3", "c": "4"}})
    assert resp.body == {"metadata": {"a": "1", "b": "3", "c": "4"}}
    resp = await call(gw, "ReplaceServerMetadata", sid, body={"metadata": {"foo": "bar"}})
    assert resp.body == {"metadata": {"foo": "bar"}}
    assert (await call(gw, "ListServerMetadata", sid)).body == {"metadata": {"foo": "bar"}}

    resp = await call(gw, "SetServerMetadataItem", sid, "x", {"meta": {"x": "y"}})
    assert (resp.status, resp.body) == (200, {"meta": {"x": "y"}})
    resp = await call(gw, "GetServerMetadataItem", sid, "x")
    assert resp.body == {"meta": {"x": "y"}}
    resp = await call(gw, "DeleteServerMetadataItem", sid, "x")
    assert (resp.status, resp.body) == (204, None)
    resp = await call(gw, "GetServerMetadataItem", sid, "x")
    assert (resp.status, resp.message) == (404, "Metadata item was not found")
    resp = await call(gw, "DeleteServerMetadataItem", sid, "x")
    assert resp.status == 404
    assert (await call(gw, "ListServerMetadata", sid)).body == {"metadata": {"foo": "bar"}}


@pytest.mark.parametrize(
    ("key", "body", "message"),
    [
        ("x", {"meta": {"y": "1"}}, "Request body and URI mismatch"),
        ("x", {"meta": {"x": "1", "y": "2"}}, "Invalid input for field/attribute meta"),
        ("x", {"meta": {}}, "Invalid input for field/attribute meta"),
        ("x", {"meta": {"x": "1"}, "extra": 1}, "Additional properties are not allowed"),
        ("x", {"meta": {"x": 1}}, "Invalid input for field/attribute x"),
    ],
)
async def test_item_body_errors(gw: Gateway, key: str, body: object, message: str) -> None:
    sid = await boot(gw)
    resp = await call(gw, "SetServerMetadataItem", sid, key, body)
    assert resp.status == 400
    assert message in resp.message


async def test_bad_keys_and_the_item_limit(gw: Gateway) -> None:
    sid = await boot(gw)
    resp = await call(gw, "CreateServerMetadata", sid, body={"metadata": {"a/b": "1"}})
    assert resp.status == 400
    resp = await call(gw, "CreateServerMetadata", sid, body={"metadata": {"k": "v" * 256}})
    assert resp.status == 400
    many = {f"k{i}": "v" for i in range(129)}
    resp = await call(gw, "ReplaceServerMetadata", sid, body={"metadata": many})
    assert (resp.status, resp.message) == (403, "Maximum number of metadata items exceeds 128")
    assert (await call(gw, "ListServerMetadata", sid)).body == {"metadata": {}}


async def test_locked_state_and_ownership(gw: Gateway) -> None:
    sid = await boot(gw)
    inst = gw.router.instances[sid]
    inst.locked = True
    body = {"metadata": {"a": "1"}}
    resp = await call(gw, "CreateServerMetadata", sid, body=body)
    assert (resp.status, resp.message) == (409, f"Instance {sid} is locked")
    # An admin may edit a locked server, as in Nova.
    assert (await call(gw, "CreateServerMetadata", sid, body=body, token="admin")).status == 200
    inst.locked = False
    inst.vm_state = "building"
    resp = await call(gw, "DeleteServerMetadataItem", sid, "a")
    assert (resp.status, resp.message) == (
        409,
        f"Cannot 'delete metadata' instance {sid} while it is in vm_state building",
    )
    inst.vm_state, inst.task_state = "active", "rebooting"
    resp = await call(gw, "ReplaceServerMetadata", sid, body=body)
    assert resp.message.endswith("while it is in task_state rebooting")
    # Reads need no particular state; strangers see no server.
    assert (await call(gw, "ListServerMetadata", sid)).body == {"metadata": {"a": "1"}}
    resp = await call(gw, "ListServerMetadata", sid, token="eve:p9")
    assert (resp.status, resp.message) == (404, f"Instance {sid} could not be found.")
