"""Versions, flavors and the image proxy through the REST face; the typed ServersService."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from novamesh.compute.v1 import servers_pb2
from novamesh.gateway.testing.harness import Gateway, running


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        yield gateway


async def test_versions(gw: Gateway) -> None:
    root = await gw.rest("versions.ListVersions", path="/", version="9.9")
    assert root.status == 200  # the root document is not microversioned
    assert [v["id"] for v in root.body["versions"]] == ["v2.0", "v2.1"]
    assert root.body["versions"][1]["links"][0]["href"] == "http://api.example.com:8774/v2.1/"
    v21 = await gw.rest("versions.GetVersion", path="/v2.1/")
    assert v21.body["version"]["version"] == "2.104"
    v2 = await gw.rest("versions.GetVersion", path="/v2")
    assert v2.body["version"]["id"] == "v2.0"


async def test_flavor_crud_and_visibility(gw: Gateway) -> None:
    body = {"flavor": {"name": "m1.small", "ram": 2048, "vcpus": 1, "disk": 20, "id": "2"}}
    denied = await gw.rest("flavors.CreateFlavor", path="/v2.1/flavors", body=body, token="bob")
    assert denied.status == 403
    made = await gw.rest("flavors.CreateFlavor", path="/v2.1/flavors", body=body, version="2.75")
    assert made.status == 200, made.message
    assert made.body["flavor"]["swap"] == 0
    assert made.body["flavor"]["extra_specs"] == {}
    dup = await gw.rest("flavors.CreateFlavor", path="/v2.1/flavors", body=body)
    assert (dup.status, dup.message) == (409, "Flavor with ID 2 already exists.")
    private = {"flavor": {"name": "secret", "ram": 1, "vcpus": 1, "disk": 0, "id": "3"}}
    private["flavor"]["os-flavor-access:is_public"] = False
    assert (await gw.rest("flavors.CreateFlavor", path="/v2.1/flavors", body=private)).status == 200
    listed = await gw.rest("flavors.ListFlavors", path="/v2.1/flavors", token="bob")
    assert [f["id"] for f in listed.body["flavors"]] == ["2"]
    hidden = await gw.rest("flavors.GetFlavor", id="3", path="/v2.1/flavors/3", token="bob")
    assert (hidden.status, hidden.message) == (404, "Flavor 3 could not be found.")
    every = await gw.rest("flavors.ListFlavorsDetail", path="/v2.1/flavors/detail?is_public=None")
    assert [f["id"] for f in every.body["flavors"]] == ["2", "3"]
    assert every.body["flavors"][0]["OS-FLV-DISABLED:disabled"] is False
    latest = await gw.rest("flavors.GetFlavor", id="2", path="/v2.1/flavors/2", version="latest")
    assert "rxtx_factor" not in latest.body["flavor"]
    paged = await gw.rest("flavors.ListFlavors", path="/v2.1/flavors?is_public=None&limit=1")
    assert paged.body["flavors_links"][0]["href"].endswith(
        "/v2.1/flavors?is_public=None&limit=1&marker=2"
    )
    desc = {"flavor": {"description": "small one"}}
    old = await gw.rest("flavors.UpdateFlavor", id="2", path="/v2.1/flavors/2", body=desc)
    assert old.status == 404
    new = await gw.rest(
        "flavors.UpdateFlavor", id="2", path="/v2.1/flavors/2", body=desc, version="2.55"
    )
    assert new.body["flavor"]["description"] == "small one"
    gone = await gw.rest("flavors.DeleteFlavor", id="2", path="/v2.1/flavors/2")
    assert gone.status == 202
    assert (await gw.rest("flavors.GetFlavor", id="2", path="/v2.1/flavors/2")).status == 404


async def test_image_proxy(gw: Gateway) -> None:
    image = await gw.add_image(name="fakeimage7")
    shown = await gw.rest("images.GetImage", id=image, path=f"/v2.1/images/{image}")
    assert shown.status == 200
    doc = shown.body["image"]
    assert (doc["status"], doc["progress"], doc["OS-DCF:diskConfig"]) == ("ACTIVE", 100, "AUTO")
    assert doc["links"][2] == {
        "href": f"http://127.0.0.1:9292/images/{image}",
        "rel": "alternate",
        "type": "application/vnd.openstack.image",
    }
    listed = await gw.rest("images.ListImagesDetail", path="/v2.1/images/detail")
    assert [i["id"] for i in listed.body["images"]] == [image]
    too_new = await gw.rest("images.ListImages", path="/v2.1/images", version="2.36")
    assert (too_new.status, too_new.message) == (
        404,
        "API version 2.36 is not supported on this method.",
    )
    missing = await gw.rest("images.GetImage", id="nope", path="/v2.1/images/nope")
    assert missing.status == 404


async def test_typed_servers(gw: Gateway) -> None:
    await gw.add_flavor("1", "m1.tiny")
    image = await gw.add_image()
    md = [("x-auth-token", "carol:p3")]
    created = await gw.typed.CreateServer(
        servers_pb2.CreateServerRequest(
            name="typed", image_ref=image, flavor_ref="1", request_id="once"
        ),
        metadata=md,
    )
    assert created.server.status == "BUILD"
    assert created.admin_pass
    again = await gw.typed.CreateServer(
        servers_pb2.CreateServerRequest(
            name="typed", image_ref=image, flavor_ref="1", request_id="once"
        ),
        metadata=md,
    )
    assert again.server.id == created.server.id
    assert len(gw.router.builds) == 1
    got = await gw.typed.GetServer(servers_pb2.GetServerRequest(id=created.server.id), metadata=md)
    assert (got.status, got.host) == ("ACTIVE", "fake-host-1")
    for name in ("t2", "t3"):
        await gw.typed.CreateServer(
            servers_pb2.CreateServerRequest(name=name, image_ref=image, flavor_ref="1"),
            metadata=md,
        )
    page = await gw.typed.ListServers(servers_pb2.ListServersRequest(page_size=2), metadata=md)
    assert len(page.servers) == 2 and page.next_page_token
    rest = await gw.typed.ListServers(
        servers_pb2.ListServersRequest(page_size=2, page_token=page.next_page_token), metadata=md
    )
    assert len(rest.servers) == 1 and not rest.next_page_token
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await gw.typed.GetServer(servers_pb2.GetServerRequest(id="nope"), metadata=md)
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await gw.typed.CreateServer(
            servers_pb2.CreateServerRequest(name="x", image_ref=image, flavor_ref="9"),
            metadata=md,
        )
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    await gw.typed.DeleteServer(servers_pb2.DeleteServerRequest(id=created.server.id), metadata=md)
    assert created.server.id not in gw.router.instances


async def test_typed_watch(gw: Gateway) -> None:
    await gw.add_flavor("1", "m1.tiny")
    image = await gw.add_image()
    md = [("x-auth-token", "dave:p4")]
    stream = gw.typed.WatchServers(servers_pb2.WatchServersRequest(), metadata=md)
    await asyncio.sleep(0.2)
    created = await gw.typed.CreateServer(
        servers_pb2.CreateServerRequest(name="w", image_ref=image, flavor_ref="1"), metadata=md
    )
    event = await asyncio.wait_for(stream.read(), 5)
    assert isinstance(event, servers_pb2.ServerEvent)
    assert event.server.id == created.server.id
    assert event.kind == servers_pb2.ServerEvent.KIND_UPDATED
    stream.cancel()
