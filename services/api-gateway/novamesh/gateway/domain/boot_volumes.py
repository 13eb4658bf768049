"""The volumes of a boot in the built-in volume store. Mapped existing volumes (`volume` →
`volume`) must be the project's and available; the boot takes them (in-use, attached to the
new server). Mappings from an image or blank to a volume get a new volume of their size,
created in-use for the server (from an image: bootable, with the image's metadata, as Cinder
records volume_image_metadata); the host's driver fills it from the image. All of it happens
before the build is recorded; if the boot fails, taken volumes are given back and created
ones deleted. When the server is deleted the router gives its volumes back, deleting those
mapped with delete_on_termination.

DB round trips: per existing volume one read and one conditional update; per new volume one
insert; a boot from an existing volume without imageRef one more read (its image metadata).
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from novamesh.common.apidb import models
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import BadRequest
from novamesh.gateway.db import volumes as store
from novamesh.gateway.domain import bdm
from novamesh.gateway.domain.deps import Deps
from novamesh.scheduler.v1 import request_spec_pb2


@dataclass
class Claimed:
    """What a boot took from the volume store, to undo if it fails."""

    taken: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)


def image_metadata(image: models.Image) -> dict[str, str]:
    """Cinder's volume_image_metadata of a volume made from `image`."""
    meta = {
        "image_id": image.id,
        "image_name": image.name or "",
        "checksum": image.checksum or "",
        "container_format": image.container_format or "",
        "disk_format": image.disk_format or "",
        "min_disk": str(image.min_disk or 0),
        "min_ram": str(image.min_ram or 0),
        "size": str(image.size or 0),
    }
    meta.update({str(k): str(v) for k, v in (image.properties or {}).items()})
    return meta


_IMAGE_FIELDS = {
    "image_id",
    "image_name",
    "checksum",
    "container_format",
    "disk_format",
    "min_disk",
    "min_ram",
    "size",
}


async def root_image_meta(
    deps: Deps, devices: Sequence[bdm.BlockDevice]
) -> request_spec_pb2.ImageMeta:
    """A boot from an existing volume: the image metadata the volume was made with (empty for
    a volume made from nothing), as Nova takes a volume-backed server's from Cinder."""
    root = next((d for d in devices if d.boot_index == 0 and d.source_type == "volume"), None)
    volume = await store.get(deps.sessions, root.uuid) if root is not None else None
    meta = (volume.image_metadata or {}) if volume is not None else {}
    if not meta:
        return request_spec_pb2.ImageMeta()
    return request_spec_pb2.ImageMeta(
        name=meta.get("image_name", ""),
        container_format=meta.get("container_format", ""),
        disk_format=meta.get("disk_format", ""),
        size=int(meta.get("size") or 0),
        min_ram=int(meta.get("min_ram") or 0),
        min_disk=int(meta.get("min_disk") or 0),
        checksum=meta.get("checksum", ""),
        properties={k: v for k, v in meta.items() if k not in _IMAGE_FIELDS},
    )


async def claim(
    deps: Deps,
    who: Identity,
    server_uuid: str,
    devices: Sequence[bdm.BlockDevice],
    images: Mapping[str, models.Image],
) -> Claimed:
    """Take every mapped volume and create every new one for the server; all or none."""
    claimed = Claimed()
    try:
        for device in devices:
            if device.source_type == "volume":
                await _take(deps, who, server_uuid, device)
                claimed.taken.append(device.uuid)
            elif device.creates_volume:
                await _create(deps, who, server_uuid, device, images.get(device.uuid))
                claimed.created.append(device.volume_id)
    except BaseException:
        await release(deps, claimed)
        raise
    return claimed


async def _take(deps: Deps, who: Identity, server_uuid: str, device: bdm.BlockDevice) -> None:
    volume = await store.get(deps.sessions, device.uuid)
    if volume is None or (not who.is_admin and volume.project_id != who.project_id):
        raise bdm.invalid(f"failed to get volume {device.uuid}.")
    moved = volume.status == "available" and await store.move(
        deps.sessions,
        device.uuid,
        "available",
        status="in-use",
        attached_server=server_uuid,
        attached_device=device.device_name,
        attachment_id=str(uuidlib.uuid4()),
    )
    if not moved:
        raise BadRequest(
            f"Invalid volume: volume '{device.uuid}' status must be 'available'. "
            f"Currently in '{volume.status}'"
        )
    # As Nova's _bdm_validate_set_size_and_instance: the mapping carries the volume's size,
    # which the host's driver sizes the disk by.
    device.volume_size = volume.size
    device.volume_id = device.uuid


async def _create(
    deps: Deps,
    who: Identity,
    server_uuid: str,
    device: bdm.BlockDevice,
    image: models.Image | None,
) -> None:
    device.volume_id = str(uuidlib.uuid4())
    await store.create(
        deps.sessions,
        store.NewVolume(
            id=device.volume_id,
            project_id=who.project_id,
            user_id=who.user_id,
            size=device.volume_size or 1,
            volume_type=device.volume_type or None,
            status="in-use",
            attached_server=server_uuid,
            attached_device=device.device_name,
            attachment_id=str(uuidlib.uuid4()),
            bootable=image is not None,
            image_metadata=image_metadata(image) if image is not None else None,
        ),
    )


async def release(deps: Deps, claimed: Claimed) -> None:
    for volume_id in claimed.created:
        await store.remove(deps.sessions, volume_id, "in-use")
    for volume_id in claimed.taken:
        await store.move(
            deps.sessions,
            volume_id,
            "in-use",
            status="available",
            attached_server=None,
            attached_device=None,
            attachment_id=None,
        )
