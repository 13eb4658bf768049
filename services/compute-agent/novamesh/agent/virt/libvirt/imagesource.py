"""Image bits from the mesh's image service over its typed gRPC API (`ImageService`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
from novamesh.agent.virt.model import DriverError
from novamesh.common import context, grpcutil
from novamesh.image.v1 import image_pb2, image_pb2_grpc

# The agent reads any image a guest on its host was booted from, whoever owns it.
_AGENT_IDENTITY = context.RequestContext(
    request_id="", user_id="nova-compute", project_id="service", roles=("admin", "service")
)


class GrpcImageSource:
    def __init__(self, target: str) -> None:
        self._target = target

    @asynccontextmanager
    async def chunks(self, image_id: str) -> AsyncIterator[AsyncIterator[bytes]]:
        token = context.bind(
            context.RequestContext(
                request_id=context.current_request_id() or context.new_request_id(),
                user_id=_AGENT_IDENTITY.user_id,
                project_id=_AGENT_IDENTITY.project_id,
                roles=_AGENT_IDENTITY.roles,
            )
        )
        try:
            async with grpcutil.channel(self._target) as channel:
                stub = image_pb2_grpc.ImageServiceStub(channel)
                call = stub.GetImageData(image_pb2.GetImageDataRequest(image_id=image_id))

                async def data() -> AsyncIterator[bytes]:
                    try:
                        async for chunk in call:
                            yield chunk.data
                    except grpc.aio.AioRpcError as exc:
                        raise DriverError(
                            f"cannot fetch image {image_id}: {exc.details()}",
                            retryable=exc.code() == grpc.StatusCode.UNAVAILABLE,
                        ) from exc

                yield data()
        finally:
            context.reset(token)

    async def properties(self, image_id: str) -> dict[str, str]:
        token = context.bind(
            context.RequestContext(
                request_id=context.current_request_id() or context.new_request_id(),
                user_id=_AGENT_IDENTITY.user_id,
                project_id=_AGENT_IDENTITY.project_id,
                roles=_AGENT_IDENTITY.roles,
            )
        )
        try:
            async with grpcutil.channel(self._target) as channel:
                stub = image_pb2_grpc.ImageServiceStub(channel)
                try:
                    image = await stub.GetImage(image_pb2.GetImageRequest(image_id=image_id))
                except grpc.aio.AioRpcError as exc:
                    raise DriverError(f"cannot read image {image_id}: {exc.details()}") from exc
                return dict(image.properties)
        finally:
            context.reset(token)
