"""Block device mappings of a boot (block_device_mapping_v2), checked as Nova checks them.

What a boot can have here: the root disk from an image (`image` → `local`, boot index 0, which
is what `openstack server create --image` sends), blank local disks (ephemeral, or swap with
`guest_format: swap`) within the flavor's sizes, existing volumes of the built-in volume store
(`volume` → `volume`), and new volumes the boot creates in that store (`image` → `volume`, filled
from the image and bootable; `blank` → `volume`, empty), each as the root disk (boot from volume)
or as an extra disk. There are no volume snapshots, so `snapshot` mappings name one that cannot
be found.

Every boot gets its mappings normalised the way Nova stores them: the root disk first, then
the flavor's ephemeral and swap disks unless the request sized them itself; volumes without a
device name get the next free virtio name in boot order.
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
    # The volume behind a `volume` destination: `uuid` for an existing one, else the one the
    # boot creates (source image or blank).
    volume_id: str = ""

    @property
    def creates_volume(self) -> bool:
        return self.destination_type == "volume" and self.source_type in ("image", "blank")

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


def bad_boot_sequence() -> BadRequest:
    return invalid(
        "Boot sequence for the instance and image/block device mapping combination is not valid."
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


def _check_format(bdm: BlockDevice) -> None:
    """What Nova's BlockDeviceDict.from_api refuses."""
    if bdm.source_type == "blank" and bdm.uuid:
        raise invalid("Invalid device UUID.")
    if bdm.source_type != "blank" and not bdm.uuid:
        raise invalid("Missing device UUID.")
    if bdm.source_type == "image" and bdm.destination_type == "local" and bdm.boot_index != 0:
        raise invalid("Mapping image to local is not supported.")
    if bdm.volume_type and bdm.destination_type == "local":
        raise invalid("Specifying a volume_type with destination_type=local is not supported.")
    if bdm.volume_type and bdm.source_type == "volume":
        raise invalid("Specifying volume type to existing volume is not supported.")
    if bdm.source_type == "volume" and bdm.destination_type != "volume":
        raise invalid("Mapping a volume to a local disk is not supported.")


def _check_source(bdm: BlockDevice) -> None:
    """What Nova's _validate_bdm refuses of one mapping once the boot sequence is right."""
    if bdm.source_type == "snapshot":
        # The built-in volume store keeps no snapshots.
        raise invalid(f"failed to get snapshot {bdm.uuid}.")
    if bdm.source_type == "image" and bdm.destination_type == "volume" and not bdm.volume_size:
        raise BadRequest(
            "Images with destination_type 'volume' need to have a non-zero size specified"
        )
    if bdm.source_type == "blank" and bdm.destination_type == "volume" and not bdm.volume_size:
        raise BadRequest(
            "Blank volumes (source: 'blank', dest: 'volume') need to have non-zero size"
        )


def volumes(devices: list[BlockDevice]) -> list[BlockDevice]:
    """The existing volumes the boot maps."""
    return [d for d in devices if d.source_type == "volume"]


def new_volumes(devices: list[BlockDevice]) -> list[BlockDevice]:
    """The mappings for which the boot creates a volume."""
    return [d for d in devices if d.creates_volume]


def boots_from_volume(requested: list[BlockDevice]) -> bool:
    return any(b.destination_type == "volume" and b.boot_index == 0 for b in requested)


def root_image(requested: list[BlockDevice]) -> str:
    """The image of the bootable local image mapping, or "" when there is none."""
    for bdm in requested:
        if bdm.source_type == "image" and bdm.destination_type == "local" and bdm.boot_index == 0:
            return bdm.uuid
    return ""


def volume_images(requested: list[BlockDevice]) -> list[str]:
    """The images new volumes are filled from, root first, each once."""
    ordered = sorted(
        (b for b in requested if b.source_type == "image" and b.destination_type == "volume"),
        key=lambda b: b.boot_index != 0,
    )
    return list(dict.fromkeys(b.uuid for b in ordered))


def root_volume_image(requested: list[BlockDevice]) -> str:
    """The image a new root volume is filled from, or ""."""
    for bdm in requested:
        if bdm.boot_index == 0 and bdm.source_type == "image" and bdm.destination_type == "volume":
            return bdm.uuid
    return ""


def check_root_volume_size(requested: list[BlockDevice], min_disk_gb: int) -> None:
    """A root volume the boot creates must hold the image's min_disk (Nova checks it before
    Cinder would)."""
    root = next((b for b in requested if b.boot_index == 0), None)
    if root is None or root.destination_type != "volume" or root.volume_size is None:
        return
    size, minimum = root.volume_size * 1024**3, min_disk_gb * 1024**3
    if minimum > size:
        raise BadRequest(
            "Volume is smaller than the minimum size specified in image metadata. Volume "
            f"size is {size} bytes, minimum size is {minimum} bytes."
        )


def check(
    requested: list[BlockDevice], image_ref: str, flavor: FlavorDisks, max_local: int = -1
) -> list[BlockDevice]:
    """Validate the requested mappings and return the full set to store, root disk first."""
    for bdm in requested:
        _check_format(bdm)
    boot = sorted(b.boot_index for b in requested if b.boot_index is not None)
    if boot and boot != list(range(len(boot))):
        raise bad_boot_sequence()
    root = next((b for b in requested if b.boot_index == 0), None)
    if root is None and not image_ref:
        raise bad_boot_sequence()
    if root is not None and root.source_type == "blank" and root.destination_type == "local":
        raise bad_boot_sequence()
    if (
        root is not None
        and root.source_type == "image"
        and root.destination_type == "local"
        and image_ref
        and root.uuid != image_ref
    ):
        raise BadRequest(f"Image {root.uuid} does not match the imageRef {image_ref}.")
    for bdm in requested:
        _check_source(bdm)
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
    devices = _normalised(requested, root, image_ref, flavor)
    if max_local >= 0 and sum(d.destination_type == "local" for d in devices) > max_local:
        raise invalid("You specified more local devices than the limit allows")
    _name_volumes(devices)
    return devices


def _normalised(
    requested: list[BlockDevice], root: BlockDevice | None, image_ref: str, flavor: FlavorDisks
) -> list[BlockDevice]:
    out: list[BlockDevice] = []
    if root is None:
        root = BlockDevice(source_type="image", uuid=image_ref, boot_index=0)
    if root.source_type == "image" and root.destination_type == "local":
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


def _name_volumes(devices: list[BlockDevice]) -> None:
    """Give each volume without a device name the next free virtio disk name, in boot order
    (a root volume is vda), after the names the local disks take (root vda, ephemeral vdb,
    swap next), as the libvirt driver lays them out."""
    local = [d for d in devices if d.destination_type == "local"]
    taken = {f"/dev/vd{chr(ord('a') + i)}" for i in range(len(local))}
    for device in devices:
        if device.device_name:
            name = device.device_name
            taken.add(name if name.startswith("/dev/") else f"/dev/{name}")
    pending = [d for d in devices if d.destination_type == "volume" and not d.device_name]
    pending.sort(key=lambda d: (d.boot_index is None, d.boot_index or 0))
    letters = (f"/dev/vd{chr(ord('a') + i)}" for i in range(26))
    for device in pending:
        name = next((n for n in letters if n not in taken), "")
        if not name:
            raise invalid("No free device name is left for the volumes.")
        device.device_name = name
        taken.add(name)
