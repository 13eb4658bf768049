"""Server bodies as Nova shapes them: the root device name, the 2.104 zone pin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.gateway.testing.harness import Gateway, Response, running


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        await gateway.add_flavor("1", "m1.tiny")
        yield gateway


async def _boot(gw: Gateway, **extra: object) -> tuple[str, str]:
    image = await gw.add_image()
    server = {"name": "vm", "imageRef": image, "flavorRef": "1", "networks": "auto", **extra}
    body = {"server": server}
    resp = await gw.rest(
        "servers.CreateServer", path="/v2.1/servers", body=body, token="alice:p1", version="2.96"
    )
    assert resp.status == 202, resp.message
    return str(resp.body["server"]["id"]), image


async def _put(
    gw: Gateway, sid: str, server: dict[str, object], version: str = "2.104"
) -> Response:
    return await gw.rest(
        "servers.UpdateServer",
        id=sid,
        path=f"/v2.1/servers/{sid}",
        body={"server": server},
        token="alice:p1",
        version=version,
    )


async def test_root_device_name_is_the_first_virtio_disk(gw: Gateway) -> None:
    sid, _ = await _boot(gw)
    shown = await gw.rest(
        "servers.GetServer", id=sid, path=f"/v2.1/servers/{sid}", token="admin", version="2.3"
    )
    assert shown.body["server"]["OS-EXT-SRV-ATTR:root_device_name"] == "/dev/vda"


async def test_unpin_and_pin_again_to_the_current_zone_only(gw: Gateway) -> None:
    sid, _ = await _boot(gw, availability_zone="nova")
    before = await _put(gw, sid, {"pinned_availability_zone": None}, "2.103")
    assert before.status == 400
    unpinned = await _put(gw, sid, {"pinned_availability_zone": None})
    assert unpinned.status == 200, unpinned.message
    assert unpinned.body["server"]["pinned_availability_zone"] is None
    elsewhere = await _put(gw, sid, {"pinned_availability_zone": "london"})
    assert elsewhere.status == 409
    pinned = await _put(gw, sid, {"pinned_availability_zone": "nova"})
    assert pinned.status == 200, pinned.message
    assert pinned.body["server"]["pinned_availability_zone"] == "nova"


def test_volumes_attached_are_the_volume_mappings() -> None:
    from novamesh.agent.v1 import block_devices_pb2
    from novamesh.cells.v1 import router_pb2
    from novamesh.gateway.api.microversion import APIVersion
    from novamesh.gateway.views.common import ViewContext
    from novamesh.gateway.views.servers import volumes_attached

    inst = router_pb2.Instance(
        block_device_mappings=[
            block_devices_pb2.BlockDevice(source_type="image", destination_type="local"),
            block_devices_pb2.BlockDevice(
                destination_type="volume", volume_id="v1", delete_on_termination=True
            ),
        ]
    )
    old = ViewContext(APIVersion(2, 1), "http://cloud")
    assert volumes_attached(old, inst) == [{"id": "v1"}]
    new = ViewContext(APIVersion(2, 3), "http://cloud")
    assert volumes_attached(new, inst) == [{"id": "v1", "delete_on_termination": True}]


async def test_host_status_follows_the_compute_service(gw: Gateway) -> None:
    from novamesh.cells.v1 import services_pb2

    sid, _ = await _boot(gw)
    assert gw.services is not None
    svc = services_pb2.ComputeService(binary="nova-compute", host="fake-host-1", up=True)
    gw.services.services.append(svc)

    async def status() -> str:
        resp = await gw.rest(
            "servers.GetServer", id=sid, path=f"/v2.1/servers/{sid}", token="admin", version="2.16"
        )
        return str(resp.body["server"]["host_status"])

    assert await status() == "UP"
    svc.disabled = True
    assert await status() == "MAINTENANCE"
    svc.forced_down = True
    assert await status() == "DOWN"
    svc.forced_down = svc.disabled = svc.up = False
    assert await status() == "UNKNOWN"
    gw.services.services.clear()
    assert await status() == ""


async def test_an_unknown_zone_is_refused_and_certificates_are_shown(gw: Gateway) -> None:
    image = await gw.add_image()
    server = {"name": "vm", "imageRef": image, "flavorRef": "1", "networks": "auto"}
    nowhere = await gw.rest(
        "servers.CreateServer",
        path="/v2.1/servers",
        body={"server": {**server, "availability_zone": "atlantis"}},
        token="alice:p1",
        version="2.63",
    )
    assert (nowhere.status, nowhere.message) == (
        400,
        "The requested availability zone is not available",
    )
    certs = ["0b5d2c72-12cc-4ba6-a8d7-3ff5cc1d8cb8"]
    sid, _ = await _boot(gw, trusted_image_certificates=certs)
    shown = await gw.rest(
        "servers.GetServer", id=sid, path=f"/v2.1/servers/{sid}", token="alice:p1", version="2.63"
    )
    assert shown.body["server"]["trusted_image_certificates"] == certs
