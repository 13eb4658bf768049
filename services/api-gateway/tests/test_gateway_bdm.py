"""block_device_mapping_v2 on POST /servers: image root disks, blank ephemeral and swap disks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

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
        ({"source_type": "volume", "uuid": "6d8c1c4e-4e67-4f6a-9f62-2f3d2cba1b7e"}, "no block"),
        ({"destination_type": "volume", "volume_size": 1}, "no block storage"),
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
    assert "block storage" in resp.message
