"""Images on a host: a base-file cache filled from the image service, and per-guest disks.

Each image is fetched once per host into `_base/<image id>` (downloaded to a temporary name and
renamed, so a half-fetched file is never used); a guest's root disk is a qcow2 overlay on that
base file, grown to the flavor's root_gb. Kernel and ramdisk images (Nova's kernel_id and
ramdisk_id properties) are cached the same way and used as they are.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tarfile
import urllib.request
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from novamesh.agent.virt.model import DriverError

GIB = 1024**3


class ImageSource(Protocol):
    """Where image bits come from (the image service)."""

    def chunks(self, image_id: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]: ...


@dataclass(frozen=True)
class DiskInfo:
    fmt: str
    virtual_size: int


async def qemu_img(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        "qemu-img",
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise DriverError(f"qemu-img {args[0]} failed: {err.decode(errors='replace').strip()}")
    return out.decode()


async def disk_info(path: Path) -> DiskInfo:
    # -U: the file may be open by a running guest.
    raw = await qemu_img("info", "-U", "--output=json", str(path))
    info = json.loads(raw)
    return DiskInfo(fmt=str(info["format"]), virtual_size=int(info["virtual-size"]))


class ImageCache:
    def __init__(self, root: Path, source: ImageSource) -> None:
        self.base_dir = root / "_base"
        self.source = source
        self._locks: dict[str, asyncio.Lock] = {}

    def base_path(self, image_id: str) -> Path:
        return self.base_dir / image_id

    async def fetch(self, image_id: str) -> Path:
        """The cached base file of an image, downloading it first if this host has none."""
        path = self.base_path(image_id)
        lock = self._locks.setdefault(image_id, asyncio.Lock())
        async with lock:
            if path.exists():
                return path
            self.base_dir.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{image_id}.part")
            try:
                async with self.source.chunks(image_id) as chunks:
                    with partial.open("wb") as out:
                        async for data in chunks:
                            await asyncio.to_thread(out.write, data)
                os.replace(partial, path)
            finally:
                partial.unlink(missing_ok=True)
        return path

    async def create_root_disk(self, image_id: str, dest: Path, size_gb: int) -> Path:
        """A qcow2 overlay on the image, at least `size_gb` large (0: the image's own size)."""
        base = await self.fetch(image_id)
        try:
            info = await disk_info(base)
        except DriverError as exc:
            raise DriverError(f"image {image_id} is not a usable disk image: {exc}") from exc
        if size_gb and size_gb * GIB < info.virtual_size:
            raise DriverError(
                f"flavor root disk ({size_gb} GiB) is smaller than image {image_id}",
                retryable=False,
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        await qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", info.fmt, str(dest))
        if size_gb:
            await qemu_img("resize", "-q", str(dest), f"{size_gb}G")
        return dest

    async def create_volume(self, image_id: str, dest: Path, size_gb: int) -> Path:
        """A volume of `size_gb` holding a standalone copy of the image (a volume outlives
        the host's image cache, so it does not sit on the cached base as a root disk does)."""
        base = await self.fetch(image_id)
        try:
            info = await disk_info(base)
        except DriverError as exc:
            raise DriverError(f"image {image_id} is not a usable disk image: {exc}") from exc
        if size_gb * GIB < info.virtual_size:
            raise DriverError(
                f"volume ({size_gb} GiB) is smaller than image {image_id}", retryable=False
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f"{dest.name}.part")
        try:
            await qemu_img("convert", "-q", "-f", info.fmt, "-O", "qcow2", str(base), str(partial))
            await qemu_img("resize", "-q", str(partial), f"{size_gb}G")
            os.replace(partial, dest)
        finally:
            partial.unlink(missing_ok=True)
        return dest

    async def create_rootfs(self, image_id: str, dest: Path) -> Path:
        """An LXC guest's root directory: the image, a (gzipped) tar archive, unpacked."""
        base = await self.fetch(image_id)
        await asyncio.to_thread(_unpack, base, dest)
        return dest


def _unpack(archive: Path, dest: Path) -> None:
    if not tarfile.is_tarfile(archive):
        raise DriverError("an LXC image must be a tar archive of a root filesystem")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        # Only the members' own paths: nothing outside dest, no device nodes.
        tar.extractall(dest, filter="data")


async def create_blank(path: Path, size_gb: int, fmt: str = "qcow2") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    await qemu_img("create", "-q", "-f", fmt, str(path), f"{size_gb}G")
    return path


async def resize(path: Path, size_gb: int) -> None:
    await qemu_img("resize", "-q", str(path), f"{size_gb}G")


async def flatten(src: Path, dest: Path) -> None:
    """A standalone qcow2 copy of a (possibly running) guest's disk, for a snapshot."""
    await qemu_img("convert", "-U", "-q", "-O", "qcow2", str(src), str(dest))


def upload(url: str, token: str, path: Path) -> None:
    """PUT a file as an image's data (Glance v2 `PUT /v2/images/{id}/file`)."""
    size = path.stat().st_size
    with path.open("rb") as data:
        req = urllib.request.Request(
            url,
            data=data,
            method="PUT",
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Length": str(size),
                "X-Auth-Token": token,
            },
        )
        with urllib.request.urlopen(req, timeout=600) as resp:
            if resp.status not in (200, 201, 204):
                raise DriverError(f"image upload answered HTTP {resp.status}")


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
