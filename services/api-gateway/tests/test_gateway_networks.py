"""The deprecated os-networks / os-tenant-networks proxies (up to 2.35)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.compute.v1 import api_networks_pb2_grpc
from novamesh.gateway.testing.harness import Gateway, running


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        gateway.stubs["networks"] = api_networks_pb2_grpc.NetworksRestServiceStub(gateway.channel)
        yield gateway


async def test_list_and_show(gw: Gateway) -> None:
    listed = await gw.rest("networks.ListNetworks", token="bob:p1")
    labels = [n["label"] for n in listed.body["networks"]]
    assert labels == ["private", "public"]
    private = listed.body["networks"][0]
    assert private["cidr"] is None and private["bridge"] is None
    shown = await gw.rest("networks.GetNetwork", id=private["id"])
    assert shown.body == {"network": private}
    tenant = await gw.rest("networks.ListTenantNetworks")
    assert tenant.body["networks"][0] == {"cidr": "None", "id": private["id"], "label": "private"}
    one = await gw.rest("networks.GetTenantNetwork", id=private["id"])
    assert one.body == {"network": tenant.body["networks"][0]}


async def test_unknown_network_and_removed_versions(gw: Gateway) -> None:
    missing = await gw.rest("networks.GetNetwork", id="nope")
    assert (missing.status, missing.message) == (404, "Network nope could not be found.")
    assert (await gw.rest("networks.ListNetworks", version="2.35")).status == 200
    assert (await gw.rest("networks.ListNetworks", version="2.36")).status == 404
    assert (await gw.rest("networks.ListTenantNetworks", version="2.36")).status == 404
