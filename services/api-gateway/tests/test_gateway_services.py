"""os-services through the gateway: 2.53 updates name a service by uuid, change only computes,
and a status sets the reason with it (a status alone clears it), as in Nova."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.cells.v1 import services_pb2
from novamesh.compute.v1 import api_services_pb2_grpc
from novamesh.gateway.testing.harness import Gateway, Response, running

COMPUTE = "5a3f9a8e-2d0c-4a8e-9d43-0c1b2a3d4e5f"
SCHEDULER = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        gateway.stubs["svcs"] = api_services_pb2_grpc.ServicesRestServiceStub(gateway.channel)
        assert gateway.services is not None
        gateway.services.services.extend(
            [
                services_pb2.ComputeService(
                    uuid=COMPUTE, id=1, binary="nova-compute", host="h1", zone="nova", up=True
                ),
                services_pb2.ComputeService(
                    uuid=SCHEDULER,
                    id=1,
                    binary="nova-scheduler",
                    host="ctl",
                    zone="internal",
                    up=True,
                ),
            ]
        )
        yield gateway


async def put(gw: Gateway, uuid: str, body: object) -> Response:
    return await gw.rest(
        "svcs.UpdateService", id=uuid, path=f"/v2.1/os-services/{uuid}", body=body,
        version="2.53",
    )  # fmt: skip


async def test_list_shows_the_control_plane_in_the_internal_zone(gw: Gateway) -> None:
    resp = await gw.rest("svcs.ListServices", path="/v2.1/os-services", version="2.53")
    zones = {s["binary"]: s["zone"] for s in resp.body["services"]}
    assert zones == {"nova-compute": "nova", "nova-scheduler": "internal"}


async def test_a_status_sets_the_reason_with_it(gw: Gateway) -> None:
    resp = await put(gw, COMPUTE, {"status": "disabled", "disabled_reason": "maintenance"})
    assert resp.body["service"]["disabled_reason"] == "maintenance"
    resp = await put(gw, COMPUTE, {"status": "disabled"})
    assert resp.status == 200 and resp.body["service"]["disabled_reason"] is None
    assert resp.body["service"]["status"] == "disabled"
    bad = await put(gw, COMPUTE, {"status": "enabled", "disabled_reason": "x"})
    assert bad.status == 400 and "'enabled' is invalid" in bad.message


async def test_only_compute_services_change(gw: Gateway) -> None:
    resp = await put(gw, SCHEDULER, {"status": "disabled"})
    assert resp.status == 400
    assert resp.message == (
        "Updating a nova-scheduler service is not supported. Only nova-compute services can "
        "be updated."
    )
    missing = await put(gw, "8b0e6f4a-1c2d-4e3f-9a8b-7c6d5e4f3a2b", {"status": "disabled"})
    assert missing.status == 404
