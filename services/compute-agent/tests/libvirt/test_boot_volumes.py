"""The volumes a libvirt guest is built with: made of the requested size, filled from the
image for a volume made from one, noted as the guest's disks at their device names."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.agent.virt.libvirt import imagebackend
from novamesh.agent.virt.libvirt.driver import LibvirtDriver
from novamesh.agent.virt.libvirt.settings import LibvirtSettings
from novamesh.agent.virt.model import BlockDevice, DriverError, InstanceSpec

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img")

IMAGE = "11111111-1111-4111-8111-111111111111"


class _Images:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.asynccontextmanager
    async def chunks(self, image_id: str) -> AsyncIterator[AsyncIterator[bytes]]:
        assert image_id == IMAGE

        async def read() -> AsyncIterator[bytes]:
            yield self.path.read_bytes()

        yield read()


def _driver(tmp_path: Path) -> LibvirtDriver:
    raw = tmp_path / "image.raw"
    raw.write_bytes(b"novamesh-boot-volume".ljust(1024 * 1024, b"\0"))
    settings = LibvirtSettings(
        uri="test:///default",
        virt_type="qemu",
        instances_path=tmp_path / "instances",
        image_target="",
        host="h",
    )
    return LibvirtDriver(settings, _Images(raw))


def _spec(*devices: BlockDevice) -> InstanceSpec:
    return InstanceSpec(uuid="u1", root_gb=1, block_devices=devices)


async def test_image_and_blank_volumes_are_made_and_noted(tmp_path: Path) -> None:
    drv = _driver(tmp_path)
    root = BlockDevice("image", "volume", 0, "/dev/vda", 2, image_id=IMAGE, volume_id="v-root")
    blank = BlockDevice("blank", "volume", -1, "/dev/vdb", 1, volume_id="v-blank")
    local = BlockDevice("image", "local", 0, "", 0, image_id=IMAGE)
    spec = _spec(root, blank)
    assert spec.boots_from_volume and spec.disk_gb == 0
    assert not _spec(local).boots_from_volume and _spec(local).disk_gb == 1
    await drv._boot_volumes(spec)
    assert drv._files("u1").volumes() == {"v-root": "vda", "v-blank": "vdb"}
    made = await imagebackend.disk_info(drv.volume_path("v-root"))
    assert (made.fmt, made.virtual_size) == ("qcow2", 2 * imagebackend.GIB)
    empty = await imagebackend.disk_info(drv.volume_path("v-blank"))
    assert empty.virtual_size == imagebackend.GIB
    # The image's bytes are at the start of the volume (the rest reads as zeros).
    # (qemu-img compare exits non-zero, a DriverError, when they differ.)
    base, volume = str(tmp_path / "image.raw"), str(drv.volume_path("v-root"))
    await imagebackend.qemu_img("compare", "-q", "-f", "raw", "-F", "qcow2", base, volume)
    # An existing volume file is the volume: a second build keeps its data.
    before = drv.volume_path("v-root").stat().st_mtime_ns
    await drv._boot_volumes(spec)
    assert drv.volume_path("v-root").stat().st_mtime_ns == before


async def test_an_image_larger_than_its_volume_fails_without_a_file(tmp_path: Path) -> None:
    drv = _driver(tmp_path)
    big = tmp_path / "image.raw"
    big.unlink()
    await imagebackend.create_blank(big, 2)
    root = BlockDevice("image", "volume", 0, "/dev/vda", 1, image_id=IMAGE, volume_id="v1")
    with pytest.raises(DriverError, match="smaller than image"):
        await drv._boot_volumes(_spec(root))
    assert not drv.volume_path("v1").exists()
