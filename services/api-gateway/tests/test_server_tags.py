"""Server tags (2.26): list, replace, add (201/204), check, delete one and all; validation,
the 50-tag limit, state rules and the microversion floor."""

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
    gw: Gateway, rpc: str, sid: str, tag: str = "", body: object = None, version: str = "2.26"
) -> Response:
    path = f"/v2.1/servers/{sid}/tags" + (f"/{tag}" if tag else "")
    return await gw.rest(
        f"tags.{rpc}", id=sid, sub_id=tag, path=path, body=body, token="alice:p1", version=version
    )


async def test_tag_lifecycle(gw: Gateway) -> None:
    sid = await boot(gw)
    resp = await call(gw, "ReplaceServerTags", sid, body={"tags": ["a", "b", "a"]})
    assert (resp.status, resp.body) == (200, {"tags": ["a", "b"]})
    resp = await call(gw, "AddServerTag", sid, "c d")
    assert resp.status == 201
    assert resp.headers["location"] == (
        f"http://api.example.com:8774/v2.1/servers/{sid}/tags/c%20d"
    )
    resp = await call(gw, "AddServerTag", sid, "a")
    assert resp.status == 204 and "location" not in resp.headers
    assert (await call(gw, "ListServerTags", sid)).body == {"tags": ["a", "b", "c d"]}
    assert (await call(gw, "CheckServerTag", sid, "b")).status == 204
    resp = await call(gw, "CheckServerTag", sid, "zz")
    assert (resp.status, resp.message) == (404, f"Server {sid} has no tag 'zz'")
    assert (await call(gw, "DeleteServerTag", sid, "b")).status == 204
    resp = await call(gw, "DeleteServerTag", sid, "b")
    assert (resp.status, resp.message) == (404, f"Tag b does not exist for instance {sid}")
    assert (await call(gw, "DeleteServerTags", sid)).status == 204
    assert (await call(gw, "ListServerTags", sid)).body == {"tags": []}


async def test_needs_2_26(gw: Gateway) -> None:
    sid = await boot(gw)
    resp = await call(gw, "ListServerTags", sid, version="2.25")
    assert resp.status == 404


async def test_validation_and_limit(gw: Gateway) -> None:
    sid = await boot(gw)
    resp = await call(gw, "AddServerTag", sid, "a,b")
    assert resp.status == 400 and resp.message.startswith("Tag 'a,b' is invalid.")
    resp = await call(gw, "AddServerTag", sid, "x" * 61)
    assert resp.status == 400
    resp = await call(gw, "ReplaceServerTags", sid, body={"tags": ["ok", "no/slash"]})
    assert resp.status == 400 and "['no/slash']" in resp.message
    resp = await call(gw, "ReplaceServerTags", sid, body={"tags": "a"})
    assert resp.status == 400
    resp = await call(gw, "ReplaceServerTags", sid, body={"tag": []})
    assert resp.status == 400
    fifty = [f"t{i}" for i in range(50)]
    resp = await call(gw, "ReplaceServerTags", sid, body={"tags": [*fifty, "one-more"]})
    assert resp.status == 400
    assert resp.message.endswith("The number of tags in request is 51.")
    assert (await call(gw, "ReplaceServerTags", sid, body={"tags": fifty})).status == 200
    resp = await call(gw, "AddServerTag", sid, "one-more")
    assert (resp.status, resp.message) == (
        400,
        "The number of tags exceeded the per-server limit 50",
    )


async def test_state_rules(gw: Gateway) -> None:
    sid = await boot(gw)
    inst = gw.router.instances[sid]
    inst.vm_state = "shelved_offloaded"
    assert (await call(gw, "AddServerTag", sid, "ok")).status == 201
    inst.vm_state = "error"
    resp = await call(gw, "DeleteServerTags", sid)
    assert (resp.status, resp.message) == (
        409,
        f"Cannot 'delete tags' instance {sid} while it is in vm_state error",
    )
    # Reading is always allowed; tags do not care about locks.
    assert (await call(gw, "ListServerTags", sid)).body == {"tags": ["ok"]}
    inst.vm_state, inst.locked = "active", True
    assert (await call(gw, "DeleteServerTag", sid, "ok")).status == 204
