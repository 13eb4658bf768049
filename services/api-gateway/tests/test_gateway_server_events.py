"""os-server-external-events: admin only, a code per event, 207 unless every event is taken."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from novamesh.compute.v1 import api_server_events_pb2_grpc
from novamesh.gateway.testing.harness import Gateway, Response, running

ADMIN = "admin:admin"
MISSING = "00000000-0000-0000-0000-000000000042"


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        gateway.stubs["events"] = api_server_events_pb2_grpc.ServerEventsRestServiceStub(
            gateway.channel
        )
        await gateway.add_flavor("1", "m1.tiny")
        yield gateway


async def boot(gw: Gateway) -> str:
    body = {"server": {"name": "vm", "imageRef": await gw.add_image(), "flavorRef": "1"}}
    resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=body, token="alice:p1")
    assert resp.status == 202, resp.message
    return str(resp.body["server"]["id"])


async def send(
    gw: Gateway, events: list[dict[str, Any]], token: str = ADMIN, version: str = "2.1"
) -> Response:
    return await gw.rest(
        "events.CreateServerExternalEvents",
        path="/v2.1/os-server-external-events",
        body={"events": events},
        token=token,
        version=version,
    )


async def test_an_event_for_a_server_on_a_host_is_accepted(gw: Gateway) -> None:
    sid = await boot(gw)
    sent = {"name": "network-changed", "server_uuid": sid, "status": "in-progress", "tag": "foo"}
    resp = await send(gw, [sent])
    assert resp.status == 200
    assert resp.body == {"events": [{**sent, "status": "completed", "code": 200}]}
    # no tag sent, none echoed
    resp = await send(gw, [{"name": "network-vif-plugged", "server_uuid": sid}])
    assert resp.body["events"] == [
        {"name": "network-vif-plugged", "server_uuid": sid, "status": "completed", "code": 200}
    ]


async def test_each_event_has_its_own_code_and_any_failure_is_207(gw: Gateway) -> None:
    sid = await boot(gw)
    homeless = await boot(gw)
    gw.router.instances[homeless].host = ""  # shelved offloaded, or not scheduled yet
    events = [
        {"name": "network-changed", "server_uuid": sid},
        {"name": "network-changed", "server_uuid": MISSING},
        {"name": "network-changed", "server_uuid": homeless},
        {"name": "volume-extended", "server_uuid": sid},  # which volume? no tag
    ]
    resp = await send(gw, events, version="2.51")
    assert resp.status == 207
    assert [(e["code"], e["status"]) for e in resp.body["events"]] == [
        (200, "completed"),
        (404, "failed"),
        (422, "failed"),
        (400, "failed"),
    ]
    # all failed is still 207 (Nova's bug 1855752 fix), not a 404
    resp = await send(gw, [{"name": "network-changed", "server_uuid": MISSING}])
    assert resp.status == 207 and resp.body["events"][0]["code"] == 404


async def test_event_names_by_microversion(gw: Gateway) -> None:
    sid = await boot(gw)
    for name, version in (
        ("volume-extended", "2.51"),
        ("power-update", "2.76"),
        ("accelerator-request-bound", "2.82"),
    ):
        event = {"name": name, "server_uuid": sid, "tag": "POWER_ON"}
        before = f"2.{int(version.split('.')[1]) - 1}"
        assert (await send(gw, [event], version=before)).status == 400, name
        assert (await send(gw, [event], version=version)).status == 200, name


async def test_validation_and_policy(gw: Gateway) -> None:
    sid = await boot(gw)
    ok = {"name": "network-changed", "server_uuid": sid}
    resp = await send(gw, [ok], token="alice:p1")
    assert resp.status == 403 and "os-server-external-events" in resp.message
    assert (await send(gw, [])).status == 400
    assert (await send(gw, [{**ok, "bogus": 1}])).status == 400
    assert (await send(gw, [{**ok, "status": "done"}])).status == 400
    assert (await send(gw, [{"name": "network-changed"}])).status == 400
    assert (await send(gw, [{**ok, "server_uuid": "not-a-uuid"}])).status == 400
