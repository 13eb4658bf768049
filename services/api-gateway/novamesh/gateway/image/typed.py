"""The typed `ImageService` for the mesh: image metadata and bits for the compute agents."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from novamesh.gateway.image.auth import from_request_context
from novamesh.gateway.image.domain import ImageError, ImageRecord
from novamesh.gateway.image.rest import GRPC_CODES
from novamesh.gateway.image.service import Images
from novamesh.image.v1 import image_pb2, image_pb2_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]
DEFAULT_CHUNK = 1024 * 1024
# Keep each message well under the mesh's 64 MiB gRPC limit.
MAX_CHUNK = 16 * 1024 * 1024


def to_proto(rec: ImageRecord) -> image_pb2.Image:
    msg = image_pb2.Image(
        id=rec.id,
        name=rec.name or "",
        status=rec.status,
        visibility=rec.visibility,
        owner=rec.owner or "",
        container_format=rec.container_format or "",
        disk_format=rec.disk_format or "",
        checksum=rec.checksum or "",
        os_hash_algo=rec.os_hash_algo or "",
        os_hash_value=rec.os_hash_value or "",
        min_ram=rec.min_ram,
        min_disk=rec.min_disk,
        protected=rec.protected,
        os_hidden=rec.os_hidden,
        properties=rec.properties,
        tags=rec.tags,
    )
    if rec.size is not None:
        msg.size = rec.size
    if rec.virtual_size is not None:
        msg.virtual_size = rec.virtual_size
    if rec.created_at is not None:
        msg.created_at.FromDatetime(rec.created_at)
    if rec.updated_at is not None:
        msg.updated_at.FromDatetime(rec.updated_at)
    return msg


class ImageServicer(image_pb2_grpc.ImageServiceServicer):
    def __init__(self, images: Images) -> None:
        self.images = images

    async def GetImage(self, request: image_pb2.GetImageRequest, context: Ctx) -> image_pb2.Image:
        try:
            return to_proto(await self.images.get(from_request_context(), request.image_id))
        except ImageError as error:
            await context.abort(
                GRPC_CODES.get(error.http_status, grpc.StatusCode.UNKNOWN), error.message
            )
            raise

    async def GetImageData(
        self, request: image_pb2.GetImageDataRequest, context: Ctx
    ) -> AsyncIterator[image_pb2.ImageDataChunk]:
        chunk_size = min(request.chunk_size or DEFAULT_CHUNK, MAX_CHUNK)
        try:
            _image, data = await self.images.download(
                from_request_context(), request.image_id, request.offset, chunk_size
            )
        except ImageError as error:
            await context.abort(
                GRPC_CODES.get(error.http_status, grpc.StatusCode.UNKNOWN), error.message
            )
            raise
        if data is None:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION, f"Image {request.image_id} has no data"
            )
            return
        offset = request.offset
        async for chunk in data:
            yield image_pb2.ImageDataChunk(offset=offset, data=chunk)
            offset += len(chunk)
