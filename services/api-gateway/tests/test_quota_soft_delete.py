"""Quota with deferred delete: a soft-deleted server counts for nothing (instances, cores, RAM),
as in Nova, and restoring one needs room for it again (403 with Nova's message)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from novamesh.compute.v1 import api_quotas_pb2_grpc
from novamesh.gateway.testing.harness import Gateway, running

OWNER = "alice:p1"


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        await gateway.add_flavor("1", "m1.tiny", vcpus=1, ram=512)
        gateway.stubs["quotas"] = api_quotas_pb2_grpc.QuotasRestServiceStub(gateway.channel)
        gateway.cfg.api.reclaim_instance_interval = 3600
        body = {"quota_set": {"instances": 2}}
        resp = await gateway.rest(
            "quotas.UpdateQuotaSet", id="p1", path="/v2.1/os-quota-sets/p1", body=body
        )
        assert resp.status == 200, resp.message
        yield gateway


async def _boot(gw: Gateway, image: str) -> Any:
    body = {"server": {"name": "q", "imageRef": image, "flavorRef": "1"}}
    return await gw.rest("servers.CreateServer", path="/v2.1/servers", body=body, token=OWNER)


async def _soft_delete(gw: Gateway, sid: str) -> None:
    path = f"/v2.1/servers/{sid}"
    resp = await gw.rest("servers.DeleteServer", id=sid, path=path, token=OWNER)
    assert resp.status == 204, resp.message
    assert gw.router.instances[sid].vm_state == "soft-delete"


async def _restore(gw: Gateway, sid: str) -> Any:
    return await gw.rest(
        "servers.ServerAction",
        id=sid,
        path=f"/v2.1/servers/{sid}/action",
        body={"restore": None},
        token=OWNER,
    )


async def _used(gw: Gateway) -> tuple[int, int, int]:
    resp = await gw.rest("quotas.GetLimits", path="/v2.1/limits", token=OWNER, version="2.57")
    a = resp.body["limits"]["absolute"]
    return a["totalInstancesUsed"], a["totalCoresUsed"], a["totalRAMUsed"]


async def test_soft_deleted_servers_free_their_quota(gw: Gateway) -> None:
    image = await gw.add_image()
    first = (await _boot(gw, image)).body["server"]["id"]
    assert (await _boot(gw, image)).status == 202
    assert (await _boot(gw, image)).status == 403
    await _soft_delete(gw, first)
    assert await _used(gw) == (1, 1, 512)
    detail = await gw.rest(
        "quotas.GetQuotaSetDetail", id="p1", path="/v2.1/os-quota-sets/p1/detail", version="2.57"
    )
    assert detail.body["quota_set"]["instances"] == {"in_use": 1, "limit": 2, "reserved": 0}
    assert detail.body["quota_set"]["cores"]["in_use"] == 1
    # the freed room takes another boot
    assert (await _boot(gw, image)).status == 202
    assert await _used(gw) == (2, 2, 1024)


async def test_restore_over_quota_is_403(gw: Gateway) -> None:
    image = await gw.add_image()
    first = (await _boot(gw, image)).body["server"]["id"]
    await _boot(gw, image)
    await _soft_delete(gw, first)
    await _boot(gw, image)
    refused = await _restore(gw, first)
    assert refused.status == 403
    assert refused.message == (
        "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances"
    )
    assert gw.router.instances[first].vm_state == "soft-delete"
    # with room again the restore goes through and the server counts once more
    body = {"quota_set": {"instances": 3}}
    await gw.rest("quotas.UpdateQuotaSet", id="p1", path="/v2.1/os-quota-sets/p1", body=body)
    assert (await _restore(gw, first)).status == 202
    assert gw.router.instances[first].vm_state == "active"
    assert await _used(gw) == (3, 3, 1536)


async def test_restore_checks_state_before_quota(gw: Gateway) -> None:
    image = await gw.add_image()
    sid = (await _boot(gw, image)).body["server"]["id"]
    await _boot(gw, image)
    # an active server at the limit: 409 (not restorable), not 403
    refused = await _restore(gw, sid)
    assert refused.status == 409


async def test_without_deferred_delete_the_router_is_not_asked(gw: Gateway) -> None:
    gw.cfg.api.reclaim_instance_interval = 0
    image = await gw.add_image()
    await _boot(gw, image)
    gw.router.calls.clear()
    assert await _used(gw) == (1, 1, 512)
    assert "ListInstances" not in gw.router.calls
    gw.cfg.api.reclaim_instance_interval = 60
    assert await _used(gw) == (1, 1, 512)
    assert gw.router.calls.count("ListInstances") == 1
