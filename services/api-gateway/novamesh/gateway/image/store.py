"""Image bits on local disk: one file per image id, written through a `.part` file.

Writes hash as they go (md5 for Glance's `checksum`, sha512 for the multihash), so an upload is
read exactly once, and enforce the size cap while streaming so an oversized upload stops at the
cap instead of filling the disk. File I/O runs in worker threads to keep the event loop free.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import struct
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from hashlib import _Hash as Hash

from novamesh.gateway.image.domain import BadRequest, TooLarge, WrittenData

HASH_ALGO = "sha512"
DEFAULT_CHUNK = 1024 * 1024
_QCOW2_MAGIC = b"QFI\xfb"


def _virtual_size(head: bytes, size: int, disk_format: str | None) -> int | None:
    """The guest-visible disk size, for the formats whose header states it cheaply."""
    if disk_format == "raw" or disk_format == "iso":
        return size
    if disk_format == "qcow2" and len(head) >= 32 and head[:4] == _QCOW2_MAGIC:
        return int(struct.unpack(">Q", head[24:32])[0])
    return None


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, image_id: str) -> Path:
        # Ids are validated UUIDs before they get here; refuse anything path-like regardless.
        if not image_id or "/" in image_id or image_id.startswith("."):
            raise BadRequest(f"Invalid image id {image_id!r}")
        return self.root / image_id

    def exists(self, image_id: str) -> bool:
        return self.path(image_id).is_file()

    async def write(
        self,
        image_id: str,
        chunks: AsyncIterable[bytes],
        max_size: int,
        disk_format: str | None = None,
    ) -> WrittenData:
        """Store the bits; on any failure nothing is left behind and the old file stays."""
        final = self.path(image_id)
        part = final.with_name(final.name + ".part")
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        md5 = hashlib.md5(usedforsecurity=False)
        sha = hashlib.sha512()
        size = 0
        head = b""
        fh: BinaryIO = await asyncio.to_thread(open, part, "wb")
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > max_size:
                    raise TooLarge(
                        f"The incoming image is too large: it exceeds the limit of "
                        f"{max_size} bytes."
                    )
                if len(head) < 512:
                    head += chunk[: 512 - len(head)]
                await asyncio.to_thread(_write_and_hash, fh, chunk, md5, sha)
            await asyncio.to_thread(_close_synced, fh)
            await asyncio.to_thread(os.replace, part, final)
        except BaseException:
            fh.close()
            part.unlink(missing_ok=True)
            raise
        return WrittenData(
            size=size,
            checksum=md5.hexdigest(),
            os_hash_algo=HASH_ALGO,
            os_hash_value=sha.hexdigest(),
            virtual_size=_virtual_size(head, size, disk_format),
        )

    async def read(
        self, image_id: str, offset: int = 0, chunk_size: int = DEFAULT_CHUNK
    ) -> AsyncIterator[bytes]:
        fh = await asyncio.to_thread(open, self.path(image_id), "rb")
        try:
            if offset:
                fh.seek(offset)
            while True:
                data = await asyncio.to_thread(fh.read, chunk_size)
                if not data:
                    return
                yield data
        finally:
            fh.close()

    async def delete(self, image_id: str) -> None:
        await asyncio.to_thread(self.path(image_id).unlink, missing_ok=True)


def _write_and_hash(fh: BinaryIO, chunk: bytes, md5: Hash, sha: Hash) -> None:
    fh.write(chunk)
    md5.update(chunk)
    sha.update(chunk)


def _close_synced(fh: BinaryIO) -> None:
    fh.flush()
    os.fsync(fh.fileno())
    fh.close()
