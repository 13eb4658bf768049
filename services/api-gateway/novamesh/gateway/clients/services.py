"""The router's CellsServicesService, with its status codes turned into API errors."""

from __future__ import annotations

import grpc
from novamesh.cells.v1 import services_pb2, services_pb2_grpc
from novamesh.common import grpcutil
from novamesh.gateway.api import errors
from novamesh.gateway.clients.router import api_error


class ServicesClient:
    def __init__(self, target: str, timeout: float = 30.0) -> None:
        self._channel = grpcutil.channel(target)
        self._stub = services_pb2_grpc.CellsServicesServiceStub(self._channel)
        self._timeout = timeout

    async def close(self) -> None:
        await self._channel.close(None)

    async def list(self, binary: str, host: str) -> services_pb2.ListServicesResponse:
        request = services_pb2.ListServicesRequest(binary=binary, host=host)
        try:
            return await self._stub.ListServices(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc

    async def update(
        self, request: services_pb2.UpdateServiceRequest, not_found: str
    ) -> services_pb2.ComputeService:
        try:
            return await self._stub.UpdateService(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                raise errors.NotFound(not_found) from exc
            raise api_error(exc) from exc

    async def delete(self, ref: services_pb2.ServiceRef, not_found: str) -> None:
        try:
            await self._stub.DeleteService(
                services_pb2.DeleteServiceRequest(service=ref), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                raise errors.NotFound(not_found) from exc
            raise api_error(exc) from exc
