"""The volumes a boot maps (block_device_mapping_v2 `volume` → `volume`): each must be the
project's, and available; the boot takes it (in-use, attached to the new server) before the
build is recorded, and gives it back if the boot fails. The router gives it back when the
server is deleted.

DB round trips: per volume one read and one conditional update.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Sequence

from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import BadRequest
from novamesh.gateway.db import volumes as store
from novamesh.gateway.domain import bdm
from novamesh.gateway.domain.deps import Deps

# The device names Nova's libvirt driver gives disks in boot order.
_DEVICES = [f"/dev/vd{chr(ord('a') + i)}" for i in range(26)]


async def claim(
    deps: Deps, who: Identity, server_uuid: str, devices: Sequence[bdm.BlockDevice]
) -> list[str]:
    """Take every mapped volume for the server; all or none. Returns the volume ids taken."""
    taken: list[str] = []
    try:
        for index, device in enumerate(devices):
            volume = await store.get(deps.sessions, device.uuid)
            if volume is None or (not who.is_admin and volume.project_id != who.project_id):
                raise BadRequest(
                    f"Block Device Mapping is Invalid: failed to get volume {device.uuid}."
                )
            name = device.device_name or _DEVICES[min(index, len(_DEVICES) - 1)]
            moved = volume.status == "available" and await store.move(
                deps.sessions,
                device.uuid,
                "available",
                status="in-use",
                attached_server=server_uuid,
                attached_device=name,
                attachment_id=str(uuidlib.uuid4()),
            )
            if not moved:
                raise BadRequest(
                    f"Invalid volume: volume '{device.uuid}' status must be 'available'. "
                    f"Currently in '{volume.status}'"
                )
            device.device_name = name
            taken.append(device.uuid)
    except BaseException:
        await release(deps, taken)
        raise
    return taken


async def release(deps: Deps, volume_ids: Sequence[str]) -> None:
    for volume_id in volume_ids:
        await store.move(
            deps.sessions,
            volume_id,
            "in-use",
            status="available",
            attached_server=None,
            attached_device=None,
            attachment_id=None,
        )
