"""The legacy block_device_mapping (v1) of a boot, converted to v2 mappings as Nova converts
it (BlockDeviceDict.from_legacy, from_legacy_mapping): `volume_id` → an existing volume,
`snapshot_id` → a volume from a snapshot, `virtual_name` swap/ephemeralN → a blank local disk.
The mapping whose device name is the root device's (`vda` unless the image names another)
becomes the boot disk; without one, the image from imageRef is.
"""

from __future__ import annotations

import re
from typing import Any

from novamesh.gateway.api.errors import BadRequest
from novamesh.gateway.domain.bdm import BlockDevice, invalid

DEFAULT_ROOT_DEVICE = "vda"
_EPHEMERAL = re.compile(r"^ephemeral(\d+)$")


def strip_dev(name: str) -> str:
    return name.removeprefix("/dev/")


def _size(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def from_legacy(raw: dict[str, Any]) -> BlockDevice | None:
    """One schema-valid legacy entry as a v2 mapping (boot index decided later); None for a
    `no_device` entry, which only hides an image's own mapping (images here define none)."""
    virtual = raw.get("virtual_name") or ""
    common: dict[str, Any] = {
        "device_name": raw.get("device_name") or "",
        "delete_on_termination": bool(raw.get("delete_on_termination", False)),
        "volume_size": _size(raw.get("volume_size")),
    }
    if virtual == "swap" or _EPHEMERAL.match(virtual):
        common["delete_on_termination"] = True
        return BlockDevice(
            source_type="blank",
            destination_type="local",
            guest_format="swap" if virtual == "swap" else "",
            **common,
        )
    if raw.get("snapshot_id"):
        return BlockDevice(
            source_type="snapshot", destination_type="volume", uuid=raw["snapshot_id"], **common
        )
    if raw.get("volume_id"):
        return BlockDevice(
            source_type="volume", destination_type="volume", uuid=raw["volume_id"], **common
        )
    if "no_device" in raw:
        return None
    raise invalid("Unrecognized legacy format.")


def convert(
    legacy: list[dict[str, Any]], image_ref: str, root_device_name: str = ""
) -> list[BlockDevice]:
    """The v2 mappings of a legacy boot (Nova's _check_and_transform_bdm for legacy_bdm)."""
    root_name = strip_dev(root_device_name or DEFAULT_ROOT_DEVICE)
    devices = [d for d in (from_legacy(raw) for raw in legacy) if d is not None]
    if image_ref:
        for device in devices:
            if device.destination_type == "volume" and strip_dev(device.device_name) == root_name:
                raise BadRequest(
                    f"The volume cannot be assigned the same device name as the root device "
                    f"{root_name}"
                )
    volume_backed = False
    for device in devices:
        if device.source_type in ("volume", "snapshot") and (
            strip_dev(device.device_name) == root_name
        ):
            device.boot_index = 0
            volume_backed = True
    if not volume_backed and image_ref:
        return [BlockDevice(source_type="image", uuid=image_ref, boot_index=0), *devices]
    return devices
