"""block_device_mapping_v2 on POST /servers: image root disks, blank ephemeral and swap disks,
existing volumes (boot from volume, extra volumes), volumes the boot creates from an image or
blank, and the legacy block_device_mapping."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from novamesh.common.apidb import models
from novamesh.gateway.testing.harness import Gateway, running
from sqlalchemy import select


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
                {**blank, "volume_size": 2, "guest_format": "ext4"},
                {**blank, "guest_format": "swap", "volume_size": 256},
            ],
        },
    )
    assert resp.status == 202, resp.message
    devices = gw.router.builds[0].instances[0].block_device_mappings
    assert [(d.guest_format, d.volume_size, d.boot_index) for d in devices] == [
        ("", 0, 0),
        ("ext4", 2, -1),
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
        ({"destination_type": "volume"}, "Blank volumes (source: 'blank', dest: 'volume')"),
        ({"uuid": "6d8c1c4e-4e67-4f6a-9f62-2f3d2cba1b7e"}, "Invalid device UUID."),
        (
            {"source_type": "snapshot", "destination_type": "volume", "uuid": "s1"},
            "failed to get snapshot s1.",
        ),
        (
            {"source_type": "image", "destination_type": "volume", "uuid": "x", "volume_size": 1},
            "failed to get image x.",
        ),
        ({"volume_type": "fast"}, "volume_type with destination_type=local"),
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


async def test_legacy_mapping_may_not_take_the_images_root(gw: Gateway) -> None:
    image = await gw.add_image()
    volume_id = await _volume(gw)
    legacy = [{"volume_id": volume_id, "device_name": "/dev/vda"}]
    resp = await _create(gw, {"imageRef": image, "block_device_mapping": legacy})
    assert resp.status == 400
    assert "cannot be assigned the same device name as the root device vda" in resp.message
    both = await _create(
        gw,
        {
            "imageRef": image,
            "block_device_mapping": [{"volume_id": volume_id, "device_name": "vdb"}],
            "block_device_mapping_v2": [_root(image)],
        },
    )
    assert both.status == 400 and "different block_device_mapping syntaxes" in both.message
    assert (await _volume_row(gw, volume_id)).status == "available"


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
        ("volume", "/dev/vdb"),
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


async def test_legacy_boot_from_volume(gw: Gateway) -> None:
    volume_id = await _volume(gw)
    legacy = [{"volume_id": volume_id, "device_name": "vda", "delete_on_termination": "true"}]
    resp = await _create(gw, {"block_device_mapping": legacy})
    assert resp.status == 202, resp.message
    build = gw.router.builds[0]
    (root,) = build.instances[0].block_device_mappings
    assert build.spec.is_bfv and build.instances[0].image_ref == ""
    assert (root.source_type, root.destination_type, root.boot_index) == ("volume", "volume", 0)
    assert (root.volume_id, root.device_name, root.volume_size) == (volume_id, "vda", 1)
    assert root.delete_on_termination
    assert (await _volume_row(gw, volume_id)).status == "in-use"


async def test_legacy_extra_volume_beside_the_image(gw: Gateway) -> None:
    image = await gw.add_image()
    volume_id = await _volume(gw)
    legacy = [{"volume_id": volume_id, "device_name": "/dev/vdb"}]
    resp = await _create(gw, {"imageRef": image, "block_device_mapping": legacy})
    assert resp.status == 202, resp.message
    devices = gw.router.builds[0].instances[0].block_device_mappings
    assert [(d.source_type, d.boot_index, d.volume_id) for d in devices] == [
        ("image", 0, ""),
        ("volume", -1, volume_id),
    ]


async def test_legacy_volume_off_the_root_name_is_no_boot_device(gw: Gateway) -> None:
    volume_id = await _volume(gw)
    resp = await _create(
        gw, {"block_device_mapping": [{"volume_id": volume_id, "device_name": "vdc"}]}
    )
    assert resp.status == 400 and "Boot sequence" in resp.message
    assert (await _volume_row(gw, volume_id)).status == "available"


def _image_volume(image: str, size: Any = 2, **extra: Any) -> dict[str, Any]:
    return {
        "boot_index": 0,
        "uuid": image,
        "source_type": "image",
        "destination_type": "volume",
        "volume_size": size,
        **extra,
    }


async def _volumes(gw: Gateway) -> list[models.Volume]:
    async with gw.sessions() as session:
        return list(await session.scalars(select(models.Volume)))


async def test_boot_from_a_volume_made_from_an_image(gw: Gateway) -> None:
    image = await gw.add_image()
    resp = await _create(
        gw, {"block_device_mapping_v2": [_image_volume(image, delete_on_termination=True)]}
    )
    assert resp.status == 202, resp.message
    build = gw.router.builds[0]
    (inst,) = build.instances
    assert build.spec.is_bfv and inst.image_ref == "" and build.spec.image.id == ""
    (root,) = inst.block_device_mappings
    assert (root.source_type, root.destination_type, root.image_id) == ("image", "volume", image)
    assert (root.volume_size, root.device_name, root.delete_on_termination) == (2, "/dev/vda", True)
    (volume,) = await _volumes(gw)
    assert volume.id == root.volume_id
    assert (volume.size, volume.status, volume.attached_server) == (2, "in-use", inst.uuid)
    assert volume.bootable and volume.image_metadata is not None
    assert volume.image_metadata["image_id"] == image


async def test_blank_volume_beside_the_image_root(gw: Gateway) -> None:
    image = await gw.add_image()
    blank = {"source_type": "blank", "destination_type": "volume", "volume_size": 3}
    resp = await _create(gw, {"imageRef": image, "block_device_mapping_v2": [_root(image), blank]})
    assert resp.status == 202, resp.message
    build = gw.router.builds[0]
    assert not build.spec.is_bfv and build.instances[0].image_ref == image
    devices = build.instances[0].block_device_mappings
    assert [(d.source_type, d.destination_type, d.device_name) for d in devices] == [
        ("image", "local", ""),
        ("blank", "volume", "/dev/vdb"),
    ]
    (volume,) = await _volumes(gw)
    assert (volume.id, volume.size, volume.bootable) == (devices[1].volume_id, 3, False)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            {"volume_size": None},
            "Images with destination_type 'volume' need to have a non-zero size specified",
        ),
        ({"volume_size": 1}, "Volume is smaller than the minimum size specified in image"),
        ({"boot_index": 1}, "Boot sequence"),
    ],
)
async def test_bad_volume_boots_create_nothing(
    gw: Gateway, mapping: dict[str, Any], message: str
) -> None:
    image = await gw.add_image(min_disk=2)
    resp = await _create(gw, {"block_device_mapping_v2": [_image_volume(image, **mapping)]})
    assert resp.status == 400
    assert message in resp.message
    assert await _volumes(gw) == []
    assert not gw.router.builds


async def test_local_device_limit(gw: Gateway) -> None:
    image = await gw.add_image()
    blank = {"source_type": "blank", "destination_type": "local", "volume_size": 1}
    swap = {**blank, "guest_format": "swap", "volume_size": 256}
    many = [_root(image), *[dict(blank) for _ in range(2)], swap]
    resp = await _create(gw, {"imageRef": image, "flavorRef": "2", "block_device_mapping_v2": many})
    assert resp.status == 400
    assert "more local devices than the limit allows" in resp.message


async def test_created_volumes_are_deleted_when_the_boot_fails(gw: Gateway) -> None:
    image = await gw.add_image()
    volume_id = await _volume(gw)
    gw.router.fail_build = grpc.StatusCode.UNAVAILABLE
    mapping = [_image_volume(image), _from_volume(volume_id, boot_index=1)]
    resp = await _create(gw, {"block_device_mapping_v2": mapping})
    assert resp.status == 503
    assert [(v.id, v.status) for v in await _volumes(gw)] == [(volume_id, "available")]


async def test_an_existing_volume_brings_the_image_metadata_it_was_made_with(gw: Gateway) -> None:
    image = await gw.add_image(properties={"kernel_id": "k1", "architecture": "x86_64"})
    first = await _create(gw, {"block_device_mapping_v2": [_image_volume(image)]})
    assert first.status == 202, first.message
    (volume,) = await _volumes(gw)
    async with gw.sessions() as session, session.begin():
        row = await session.get(models.Volume, volume.id)
        assert row is not None
        row.status, row.attached_server = "available", None
    again = await _create(gw, {"block_device_mapping_v2": [_from_volume(volume.id)]})
    assert again.status == 202, again.message
    spec = gw.router.builds[1].spec
    assert spec.is_bfv and spec.image.id == ""
    assert spec.image.properties["kernel_id"] == "k1"
    assert "image_id" not in spec.image.properties
