"""Servers after the boot: show, list (filters, pagination), update, delete, actions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.cells.v1 import services_pb2
from novamesh.gateway.testing.harness import Gateway, running


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        await gateway.add_flavor("1", "m1.tiny")
        yield gateway


async def boot(gw: Gateway, name: str = "vm", token: str = "alice:p1") -> str:
    image = await gw.add_image()
    body = {"server": {"name": name, "imageRef": image, "flavorRef": "1"}}
    resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=body, token=token)
    assert resp.status == 202, resp.message
    return str(resp.body["server"]["id"])


async def test_show_as_owner_admin_and_stranger(gw: Gateway) -> None:
    sid = await boot(gw)
    path = f"/v2.1/servers/{sid}"
    mine = await gw.rest("servers.GetServer", id=sid, path=path, token="alice:p1", version="2.47")
    assert mine.status == 200
    server = mine.body["server"]
    assert server["status"] == "ACTIVE"
    assert "OS-EXT-SRV-ATTR:host" not in server
    assert server["flavor"]["original_name"] == "m1.tiny"
    assert server["addresses"]["private"][0]["OS-EXT-IPS:type"] == "fixed"
    assert gw.services is not None
    compute = services_pb2.ComputeService(binary="nova-compute", host="fake-host-1", up=True)
    gw.services.services.append(compute)
    admin = await gw.rest("servers.GetServer", id=sid, path=path, token="admin", version="2.47")
    assert admin.body["server"]["OS-EXT-SRV-ATTR:host"] == "fake-host-1"
    assert admin.body["server"]["host_status"] == "UP"
    other = await gw.rest("servers.GetServer", id=sid, path=path, token="eve:p9")
    assert (other.status, other.message) == (404, f"Instance {sid} could not be found.")


async def test_list_pagination_and_links(gw: Gateway) -> None:
    ids = [await boot(gw, f"vm{i}") for i in range(3)]
    path = "/v2.1/servers?limit=2"
    page = await gw.rest("servers.ListServers", path=path, token="alice:p1")
    assert page.status == 200
    assert len(page.body["servers"]) == 2
    (link,) = page.body["servers_links"]
    last = page.body["servers"][-1]["id"]
    assert link == {
        "href": f"http://api.example.com:8774/v2.1/servers?limit=2&marker={last}",
        "rel": "next",
    }
    rest = await gw.rest(
        "servers.ListServers", path=f"/v2.1/servers?limit=2&marker={last}", token="alice:p1"
    )
    assert len(rest.body["servers"]) == 1
    assert "servers_links" not in rest.body
    seen = {s["id"] for s in page.body["servers"] + rest.body["servers"]}
    assert seen == set(ids)
    bad = await gw.rest("servers.ListServers", path="/v2.1/servers?marker=nope", token="alice:p1")
    assert (bad.status, bad.message) == (400, "marker [nope] not found")


async def test_list_scoping_and_all_tenants(gw: Gateway) -> None:
    await boot(gw, "a", token="alice:p1")
    await boot(gw, "b", token="bob:p2")
    mine = await gw.rest("servers.ListServersDetail", path="/v2.1/servers/detail", token="bob:p2")
    assert [s["name"] for s in mine.body["servers"]] == ["b"]
    denied = await gw.rest(
        "servers.ListServers", path="/v2.1/servers?all_tenants=1", token="bob:p2"
    )
    assert denied.status == 403
    everyone = await gw.rest("servers.ListServers", path="/v2.1/servers?all_tenants=1")
    assert sorted(s["name"] for s in everyone.body["servers"]) == ["a", "b"]


async def test_list_filters(gw: Gateway) -> None:
    await boot(gw, "web-1")
    await boot(gw, "db-1")
    found = await gw.rest("servers.ListServers", path="/v2.1/servers?name=^web", token="alice:p1")
    assert [s["name"] for s in found.body["servers"]] == ["web-1"]
    status = await gw.rest(
        "servers.ListServers", path="/v2.1/servers?status=SHUTOFF", token="alice:p1"
    )
    assert status.body["servers"] == []
    # Unknown query parameters: ignored up to 2.74, a 400 from 2.75.
    old = await gw.rest("servers.ListServers", path="/v2.1/servers?foo=1", version="2.74")
    assert old.status == 200
    new = await gw.rest("servers.ListServers", path="/v2.1/servers?foo=1", version="2.75")
    assert (new.status, new.message) == (
        400,
        "Additional properties are not allowed ('foo' was unexpected)",
    )
    bad_time = await gw.rest("servers.ListServers", path="/v2.1/servers?changes-since=yesterday")
    assert bad_time.status == 400


async def test_update(gw: Gateway) -> None:
    sid = await boot(gw)
    body = {"server": {"name": "renamed", "description": "hello"}}
    resp = await gw.rest(
        "servers.UpdateServer", id=sid, path=f"/v2.1/servers/{sid}", body=body, version="2.19"
    )
    assert resp.status == 200
    assert resp.body["server"]["name"] == "renamed"
    assert resp.body["server"]["description"] == "hello"
    # Before 2.75 the PUT body has no extension attributes.
    assert "OS-EXT-STS:vm_state" not in resp.body["server"]
    bad = await gw.rest(
        "servers.UpdateServer",
        id=sid,
        path=f"/v2.1/servers/{sid}",
        body={"server": {"description": "x"}},
        version="2.18",
    )
    assert bad.status == 400


async def test_actions_and_state_checks(gw: Gateway) -> None:
    sid = await boot(gw)
    path = f"/v2.1/servers/{sid}/action"

    async def act(body: object) -> tuple[int, str]:
        resp = await gw.rest("servers.ServerAction", id=sid, path=path, body=body)
        return resp.status, resp.message

    assert await act({"os-start": None}) == (
        409,
        f"Cannot 'start' instance {sid} while it is in vm_state active",
    )
    assert await act({"os-stop": None}) == (202, "")
    assert gw.router.instances[sid].vm_state == "stopped"
    assert await act({"reboot": {"type": "SOFT"}}) == (
        409,
        f"Cannot 'reboot' instance {sid} while it is in vm_state stopped",
    )
    assert await act({"reboot": {"type": "HARD"}}) == (202, "")
    assert gw.router.instances[sid].vm_state == "active"
    assert (await act({"reboot": {"type": "sideways"}}))[0] == 400
    assert (await act({"os-stop": None, "os-start": None}))[0] == 400
    assert (await act({"fly": None}))[1] == "There is no such action: fly"
    gw.router.complete_actions = False
    assert await act({"reboot": {"type": "SOFT"}}) == (202, "")
    assert await act({"reboot": {"type": "SOFT"}}) == (
        409,
        f"Cannot 'reboot' instance {sid} while it is in task_state rebooting",
    )
    show = await gw.rest("servers.GetServer", id=sid, path=f"/v2.1/servers/{sid}")
    assert show.body["server"]["status"] == "REBOOT"


async def test_locked_server(gw: Gateway) -> None:
    sid = await boot(gw)
    path = f"/v2.1/servers/{sid}/action"
    lock = {"lock": {"locked_reason": "maintenance"}}
    resp = await gw.rest(
        "servers.ServerAction", id=sid, path=path, body=lock, token="alice:p1", version="2.73"
    )
    assert resp.status == 202
    stop = await gw.rest(
        "servers.ServerAction", id=sid, path=path, body={"os-stop": None}, token="alice:p1"
    )
    assert (stop.status, stop.message) == (409, f"Instance {sid} is locked")
    show = await gw.rest("servers.GetServer", id=sid, path=path, token="alice:p1", version="2.73")
    assert show.body["server"]["locked"] is True
    assert show.body["server"]["locked_reason"] == "maintenance"


async def test_delete(gw: Gateway) -> None:
    sid = await boot(gw)
    resp = await gw.rest("servers.DeleteServer", id=sid, path=f"/v2.1/servers/{sid}")
    assert (resp.status, resp.body) == (204, None)
    again = await gw.rest("servers.DeleteServer", id=sid, path=f"/v2.1/servers/{sid}")
    assert again.status == 404


async def test_bad_versions(gw: Gateway) -> None:
    resp = await gw.rest("servers.ListServers", path="/v2.1/servers", version="2.105")
    assert resp.status == 406
    assert "openstack-api-version" not in resp.headers
    assert resp.headers["x-openstack-request-id"].startswith("req-")
    resp = await gw.rest("servers.ListServers", path="/v2.1/servers", version="two")
    assert resp.status == 400
