"""Block device mappings of a boot (block_device_mapping_v2), checked as Nova checks them.

What a boot can have here: the root disk from an image (`image` → `local`, boot index 0, which
is what `openstack server create --image` sends), blank local disks (ephemeral, or swap with
`guest_format: swap`) within the flavor's sizes, and existing volumes of the built-in volume
store (`volume` → `volume`), as the root disk (boot from volume) or as extra disks. Mappings
that would have to create a volume (image, blank or snapshot → `volume`) are refused with a
400 that says so, before anything is recorded: the volume store has no backend that fills a
volume from an image.

Every boot gets its mappings normalised the way Nova stores them: the root disk first, then
the flavor's ephemeral and swap disks unless the request sized them itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from novamesh.gateway.api.errors import BadRequest

SOURCE_TYPES = ("image", "blank", "volume", "snapshot")
DESTINATION_TYPES = ("local", "volume")


@dataclass
class BlockDevice:
    """One requested (or implied) block device; sizes in GiB, swap in MiB."""

    source_type: str
    destination_type: str = "local"
    uuid: str = ""
    boot_index: int | None = None
    volume_size: int | None = None
    delete_on_termination: bool = False
    device_name: str = ""
    device_type: str = ""
    disk_bus: str = ""
    guest_format: str = ""
    tag: str = ""
    volume_type: str = ""

    @property
    def is_swap(self) -> bool:
        return self.source_type == "blank" and self.guest_format == "swap"

    @property
    def is_ephemeral(self) -> bool:
        return (
            self.source_type == "blank"
            and self.destination_type == "local"
            and self.guest_format != "swap"
        )


@dataclass(frozen=True)
class FlavorDisks:
    root_gb: int
    ephemeral_gb: int
    swap_mb: int


def invalid(details: str) -> BadRequest:
    return BadRequest(f"Block Device Mapping is Invalid: {details}")


def volumes_unsupported() -> BadRequest:
    return BadRequest(
        "Block device mappings that create volumes are not supported: this cloud's volume "
        "store cannot fill a volume from an image, a snapshot or nothing. Create the volume "
        "first (os-volumes) and map it with source_type volume."
    )


def legacy_unsupported() -> BadRequest:
    return BadRequest(
        "The legacy block_device_mapping is not supported; use block_device_mapping_v2 "
        "with source_type volume."
    )


def _int_or_none(value: Any, what: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(f"{what} {value} is invalid.") from None


def parse(raw: dict[str, Any]) -> BlockDevice:
    """One schema-valid `block_device_mapping_v2` entry as a BlockDevice."""
    boot_index = _int_or_none(raw.get("boot_index"), "Boot index")
    if boot_index is not None and boot_index < 0:
        boot_index = None
    size = _int_or_none(raw.get("volume_size"), "Volume size")
    if size is not None and size < 0:
        raise invalid(f"Volume size {size} is invalid.")
    source = raw.get("source_type") or ("volume" if raw.get("uuid") else "blank")
    return BlockDevice(
        source_type=source,
        destination_type=raw.get("destination_type") or "local",
        uuid=str(raw.get("uuid") or ""),
        boot_index=boot_index,
        volume_size=size,
        delete_on_termination=bool(raw.get("delete_on_termination", False)),
        device_name=raw.get("device_name") or "",
        device_type=raw.get("device_type") or "",
        disk_bus=raw.get("disk_bus") or "",
        guest_format=raw.get("guest_format") or "",
        tag=raw.get("tag") or "",
        volume_type=raw.get("volume_type") or "",
    )


def _check_one(bdm: BlockDevice) -> None:
    if bdm.source_type == "volume":
        if bdm.destination_type != "volume":
            raise invalid("Mapping a volume to a local disk is not supported.")
        if not bdm.uuid:
            raise invalid("Missing device UUID.")
        return
    if bdm.destination_type == "volume" or bdm.source_type == "snapshot":
        raise volumes_unsupported()
    if bdm.source_type == "image":
        if not bdm.uuid:
            raise invalid("Missing device UUID.")
        if bdm.boot_index != 0:
            raise invalid("Mapping image to local is not supported.")
    if bdm.volume_type and bdm.destination_type == "local":
        raise invalid("Specifying a volume_type with destination_type=local is not supported.")


def volumes(devices: list[BlockDevice]) -> list[BlockDevice]:
    return [d for d in devices if d.source_type == "volume"]


def boots_from_volume(requested: list[BlockDevice]) -> bool:
    return any(b.source_type == "volume" and b.boot_index == 0 for b in requested)


def root_image(requested: list[BlockDevice]) -> str:
    """The image of the bootable image mapping, or "" when there is none."""
    for bdm in requested:
        if bdm.source_type == "image" and bdm.boot_index == 0:
            return bdm.uuid
    return ""


def check(requested: list[BlockDevice], image_ref: str, flavor: FlavorDisks) -> list[BlockDevice]:
    """Validate the requested mappings and return the full set to store, root disk first."""
    for bdm in requested:
        _check_one(bdm)
    boot = sorted(b.boot_index for b in requested if b.boot_index is not None)
    if boot and boot != list(range(len(boot))):
        raise invalid(
            "Boot sequence for the instance and image/block device mapping combination is "
            "not valid."
        )
    root = next((b for b in requested if b.boot_index == 0), None)
    if root is not None and root.source_type not in ("image", "volume"):
        raise invalid(
            "Boot sequence for the instance and image/block device mapping combination is "
            "not valid."
        )
    if root is not None and root.source_type == "image" and image_ref and root.uuid != image_ref:
        raise BadRequest(f"Image {root.uuid} does not match the imageRef {image_ref}.")
    swaps = [b for b in requested if b.is_swap]
    if len(swaps) > 1:
        raise invalid("More than one swap drive requested.")
    for swap in swaps:
        if (swap.volume_size or 0) > flavor.swap_mb:
            raise BadRequest("Swap drive requested is larger than instance type allows.")
    ephemerals = [b for b in requested if b.is_ephemeral]
    total = sum(flavor.ephemeral_gb if b.volume_size is None else b.volume_size for b in ephemerals)
    if ephemerals and total > flavor.ephemeral_gb:
        raise BadRequest(
            "Ephemeral disks requested are larger than the instance type allows. If no size "
            "is given in one block device mapping, flavor ephemeral size will be used."
        )
    return _normalised(requested, root, image_ref, flavor)


def _normalised(
    requested: list[BlockDevice], root: BlockDevice | None, image_ref: str, flavor: FlavorDisks
) -> list[BlockDevice]:
    out: list[BlockDevice] = []
    if root is None:
        root = BlockDevice(source_type="image", uuid=image_ref, boot_index=0)
    if root.source_type == "image":
        root.delete_on_termination = True
    root.device_type = root.device_type or "disk"
    out.append(root)
    others = [b for b in requested if b is not root]
    for bdm in others:
        if bdm.is_ephemeral and bdm.volume_size is None:
            bdm.volume_size = flavor.ephemeral_gb
        if bdm.is_swap and bdm.volume_size is None:
            bdm.volume_size = flavor.swap_mb
        if bdm.destination_type == "local":
            bdm.delete_on_termination = True
        out.append(bdm)
    if flavor.ephemeral_gb and not any(b.is_ephemeral for b in others):
        out.append(
            BlockDevice(
                source_type="blank",
                volume_size=flavor.ephemeral_gb,
                delete_on_termination=True,
                device_type="disk",
            )
        )
    if flavor.swap_mb and not any(b.is_swap for b in others):
        out.append(
            BlockDevice(
                source_type="blank",
                guest_format="swap",
                volume_size=flavor.swap_mb,
                delete_on_termination=True,
                device_type="disk",
            )
        )
    return out
