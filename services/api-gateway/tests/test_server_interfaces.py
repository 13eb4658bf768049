"""os-interface: list and show from the instance, attach and detach through the router, with
Nova's body rules, state rules and the 2.49/2.70 tag."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.gateway.domain import networks
from novamesh.gateway.testing.harness import Gateway, Response
from novamesh.gateway.testing.subresources import boot, gateway


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with gateway(tmp_path) as gw:
        gw.cfg.network_proxy.networks = ["private", "public"]
        yield gw


async def call(
    gw: Gateway, rpc: str, sid: str, port: str = "", body: object = None, version: str = "2.1"
) -> Response:
    path = f"/v2.1/servers/{sid}/os-interface" + (f"/{port}" if port else "")
    return await gw.rest(
        f"interfaces.{rpc}",
        id=sid,
        sub_id=port,
        path=path,
        body=body,
        token="alice:p1",
        version=version,
    )


def net_id(gw: Gateway, label: str) -> str:
    (net,) = [n for n in networks.configured(gw.cfg.network_proxy) if n.label == label]
    return net.id


async def test_attach_list_show_detach(gw: Gateway) -> None:
    sid = await boot(gw)
    gw.router.instances[sid].interfaces[0].port_id = "11111111-1111-1111-1111-111111111111"
    listed = await call(gw, "ListServerInterfaces", sid)
    (first,) = listed.body["interfaceAttachments"]
    assert first["net_id"] == net_id(gw, "private") and first["port_state"] == "ACTIVE"
    assert "tag" not in first

    body = {"interfaceAttachment": {"net_id": net_id(gw, "public"), "tag": "nic2"}}
    resp = await call(gw, "AttachServerInterface", sid, body=body, version="2.70")
    assert resp.status == 200, resp.message
    attached = resp.body["interfaceAttachment"]
    assert attached["net_id"] == net_id(gw, "public") and attached["tag"] == "nic2"
    port = attached["port_id"]
    shown = await call(gw, "GetServerInterface", sid, port, version="2.70")
    assert shown.body["interfaceAttachment"] == attached
    assert len((await call(gw, "ListServerInterfaces", sid)).body["interfaceAttachments"]) == 2

    assert (await call(gw, "DetachServerInterface", sid, port)).status == 202
    resp = await call(gw, "GetServerInterface", sid, port)
    assert (resp.status, resp.message) == (
        404,
        f"Instance {sid} does not have a port with id {port}",
    )
    assert (await call(gw, "DetachServerInterface", sid, port)).status == 404


@pytest.mark.parametrize(
    ("body", "version", "message"),
    [
        (
            {"interfaceAttachment": {"net_id": "NET", "port_id": "PORT"}},
            "2.1",
            "Must not input both network_id and port_id",
        ),
        (
            {"interfaceAttachment": {"port_id": "PORT", "fixed_ips": [{"ip_address": "1.2.3.4"}]}},
            "2.1",
            "Must input network_id when request IP address",
        ),
        ({"interfaceAttachment": {"net_id": "NET", "tag": "x"}}, "2.48", "Additional properties"),
        ({"interfaceAttachment": {"net_id": "not-a-uuid"}}, "2.1", "is not a 'uuid'"),
    ],
)
async def test_bad_bodies(
    gw: Gateway, body: dict[str, dict[str, object]], version: str, message: str
) -> None:
    sid = await boot(gw)
    inner = body["interfaceAttachment"]
    for key, value in list(inner.items()):
        if value == "NET":
            inner[key] = net_id(gw, "public")
        elif value == "PORT":
            inner[key] = "22222222-2222-2222-2222-222222222222"
    resp = await call(gw, "AttachServerInterface", sid, body=body, version=version)
    assert resp.status == 400 and message in resp.message


async def test_state_lock_and_unknown_network(gw: Gateway) -> None:
    sid = await boot(gw)
    inst = gw.router.instances[sid]
    inst.vm_state = "suspended"
    body = {"interfaceAttachment": {"net_id": net_id(gw, "public")}}
    resp = await call(gw, "AttachServerInterface", sid, body=body)
    assert (resp.status, resp.message) == (
        409,
        f"Cannot 'attach_interface' instance {sid} while it is in vm_state suspended",
    )
    inst.vm_state, inst.locked = "active", True
    assert (await call(gw, "AttachServerInterface", sid, body=body)).status == 409
    inst.locked = False
    body = {"interfaceAttachment": {"net_id": "33333333-3333-3333-3333-333333333333"}}
    resp = await call(gw, "AttachServerInterface", sid, body=body)
    assert resp.status == 404
    assert gw.devices is not None
    gw.devices.refuse = True
    body = {"interfaceAttachment": {"net_id": net_id(gw, "public")}}
    assert (await call(gw, "AttachServerInterface", sid, body=body)).status == 409
    assert len(inst.interfaces) == 1
