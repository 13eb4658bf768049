"""block_device_mapping_v2 on POST /servers: image root disks, blank ephemeral and swap disks,
existing volumes (boot from volume, extra volumes)."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from novamesh.common.apidb import models
from novamesh.gateway.testing.harness import Gateway, running


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        await gateway.add_flavor("1", "m1.tiny")
        await gateway.add_flavor("2", "m1.eph", ephemeral_gb=2, swap=512)
        yield gateway


def _root(image: str, **extra: Any) -> dict[str, Any]:
    return {
        "boot_index": 0,
        "uuid": image,
        "source_type": "image",
        "destination_type": "local",
        **extra,
    }


async def _create(gw: Gateway, server: dict[str, Any]) -> Any:
    body = {"server": {"name": "bdm", "flavorRef": "1", **server}}
    return await gw.rest("servers.CreateServer", path="/v2.1/servers", body=body)


async def test_openstack_cli_boot_mapping_is_accepted(gw: Gateway) -> None:
    image = await gw.add_image()
    resp = await _create(
        gw,
        {"imageRef": image, "block_device_mapping_v2": [_root(image, delete_on_termination=True)]},
    )
    assert resp.status == 202, resp.message
    (inst,) = gw.router.builds[0].instances
    (root,) = inst.block_device_mappings
    assert (root.source_type, root.destination_type, root.boot_index) == ("image", "local", 0)
    assert root.image_id == image and root.delete_on_termination


async def test_image_from_the_mapping_alone(gw: Gateway) -> None:
    image = await gw.add_image()
    resp = await _create(gw, {"block_device_mapping_v2": [_root(image, boot_index="0")]})
    assert resp.status == 202, resp.message
    assert gw.router.builds[0].instances[0].image_ref == image


async def test_flavor_disks_are_implied(gw: Gateway) -> None:
    image = await gw.add_image()
    resp = await _create(gw, {"imageRef": image, "flavorRef": "2"})
    assert resp.status == 202, resp.message
    devices = gw.router.builds[0].instances[0].block_device_mappings
    assert [(d.source_type, d.guest_format, d.volume_size) for d in devices] == [
        ("image", "", 0),
        ("blank", "", 2),
        ("blank", "swap", 512),
    ]


async def test_blank_ephemeral_and_swap(gw: Gateway) -> None:
    image = await gw.add_image()
    blank = {"source_type": "blank", "destination_type": "local", "boot_index": -1}
    resp = await _create(
        gw,
        {
            "imageRef": image,
            "flavorRef": "2",
            "block_device_mapping_v2": [
                _root(image),
                {**blank, "volume_size": 1},
                {**blank, "volume_size": 1, "guest_format": "ext4"},
                {**blank, "guest_format": "swap", "volume_size": 256},
            ],
        },
    )
    assert resp.status == 202, resp.message
    devices = gw.router.builds[0].instances[0].block_device_mappings
    assert [(d.guest_format, d.volume_size, d.boot_index) for d in devices] == [
        ("", 0, 0),
        ("", 1, -1),
        ("ext4", 1, -1),
        ("swap", 256, -1),
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"volume_size": 3}, "Ephemeral disks requested are larger"),
        ({"guest_format": "swap", "volume_size": 1024}, "Swap drive requested is larger"),
        ({"boot_index": 2}, "Boot sequence"),
        ({"boot_index": "x"}, "Boot index x is invalid"),
        ({"source_type": "volume", "uuid": "6d8c1c4e-4e67-4f6a-9f62-2f3d2cba1b7e"}, "to a local"),
        ({"destination_type": "volume", "volume_size": 1}, "cannot fill a volume"),
        (
            {"source_type": "volume", "destination_type": "volume", "uuid": "nope"},
            "failed to get volume nope",
        ),
    ],
)
async def test_invalid_mappings_are_400_and_record_nothing(
    gw: Gateway, extra: dict[str, Any], message: str
) -> None:
    image = await gw.add_image()
    blank = {"source_type": "blank", "destination_type": "local", **extra}
    resp = await _create(
        gw,
        {"imageRef": image, "flavorRef": "2", "block_device_mapping_v2": [_root(image), blank]},
    )
    assert resp.status == 400
    assert message in resp.message
    assert await gw.count(models.BuildRequest) == 0
    assert not gw.router.builds


async def test_root_must_match_image_ref(gw: Gateway) -> None:
    image = await gw.add_image()
    other = await gw.add_image()
    resp = await _create(gw, {"imageRef": image, "block_device_mapping_v2": [_root(other)]})
    assert resp.status == 400


async def test_legacy_mapping_is_volumes_only(gw: Gateway) -> None:
    image = await gw.add_image()
    resp = await _create(
        gw, {"imageRef": image, "block_device_mapping": [{"volume_id": "x", "device_name": "vda"}]}
    )
    assert resp.status == 400
    assert "legacy block_device_mapping is not supported" in resp.message


async def _volume(gw: Gateway, status: str = "available", project: str = "admin") -> str:
    volume_id = str(uuidlib.uuid4())
    async with gw.sessions() as session, session.begin():
        session.add(
            models.Volume(id=volume_id, project_id=project, user_id="u", size=1, status=status)
        )
    return volume_id


async def _volume_row(gw: Gateway, volume_id: str) -> models.Volume:
    async with gw.sessions() as session:
        row = await session.get(models.Volume, volume_id)
    assert row is not None
    return row


def _from_volume(volume_id: str, boot_index: int = 0) -> dict[str, Any]:
    return {
        "boot_index": boot_index,
        "uuid": volume_id,
        "source_type": "volume",
        "destination_type": "volume",
    }


async def test_boot_from_volume_takes_the_volume(gw: Gateway) -> None:
    volume_id = await _volume(gw)
    resp = await _create(gw, {"block_device_mapping_v2": [_from_volume(volume_id)]})
    assert resp.status == 202, resp.message
    build = gw.router.builds[0]
    (inst,) = build.instances
    assert build.spec.is_bfv and inst.image_ref == ""
    (root,) = inst.block_device_mappings
    assert (root.source_type, root.volume_id, root.device_name) == ("volume", volume_id, "/dev/vda")
    row = await _volume_row(gw, volume_id)
    assert (row.status, row.attached_server) == ("in-use", inst.uuid)
    again = await _create(gw, {"block_device_mapping_v2": [_from_volume(volume_id)]})
    assert again.status == 400 and "status must be 'available'" in again.message


async def test_extra_volume_beside_an_image(gw: Gateway) -> None:
    image = await gw.add_image()
    volume_id = await _volume(gw)
    mapping = [_root(image), _from_volume(volume_id, boot_index=-1)]
    resp = await _create(gw, {"imageRef": image, "block_device_mapping_v2": mapping})
    assert resp.status == 202, resp.message
    devices = gw.router.builds[0].instances[0].block_device_mappings
    assert [(d.source_type, d.device_name) for d in devices] == [
        ("image", ""),
        ("volume", "/dev/vda"),
    ]
    assert not gw.router.builds[0].spec.is_bfv


async def test_volumes_are_given_back_when_the_boot_fails(gw: Gateway) -> None:
    volume_id = await _volume(gw)
    gw.router.fail_build = grpc.StatusCode.UNAVAILABLE
    resp = await _create(gw, {"block_device_mapping_v2": [_from_volume(volume_id)]})
    assert resp.status == 503
    assert (await _volume_row(gw, volume_id)).status == "available"


async def test_volume_rules(gw: Gateway) -> None:
    volume_id = await _volume(gw)
    many = await _create(gw, {"max_count": 2, "block_device_mapping_v2": [_from_volume(volume_id)]})
    assert (many.status, many.message) == (
        400,
        "Cannot attach one or more volumes to multiple instances",
    )
    theirs = await _volume(gw, project="someone-else")
    server: dict[str, Any] = {"name": "x", "flavorRef": "1"}
    server["block_device_mapping_v2"] = [_from_volume(theirs)]
    body = {"server": server}
    resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=body, token="bob:p1")
    assert resp.status == 400 and "failed to get volume" in resp.message
    assert (await _volume_row(gw, volume_id)).status == "available"
