"""The router's CellsServerDevicesService over gRPC, with its status codes turned into API
errors."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import grpc
from novamesh.agent.v1 import agent_pb2
from novamesh.cells.v1 import server_devices_pb2 as sd
from novamesh.cells.v1 import server_devices_pb2_grpc
from novamesh.common import grpcutil
from novamesh.gateway.clients.router import api_error

T = TypeVar("T")


class GrpcDevices:
    def __init__(self, target: str, timeout: float = 90.0) -> None:
        self._channel = grpcutil.channel(target)
        self._stub = server_devices_pb2_grpc.CellsServerDevicesServiceStub(self._channel)
        self._timeout = timeout

    async def close(self) -> None:
        await self._channel.close(None)

    @staticmethod
    async def _call(call: Awaitable[T]) -> T:
        try:
            return await call
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc

    async def diagnostics(self, uuid: str) -> sd.ServerDiagnostics:
        request = sd.GetDiagnosticsRequest(uuid=uuid)
        return await self._call(self._stub.GetDiagnostics(request, timeout=self._timeout))

    async def console(self, uuid: str, protocol: str) -> sd.ConsoleEndpoint:
        request = sd.GetConsoleRequest(uuid=uuid, protocol=protocol)
        return await self._call(self._stub.GetConsole(request, timeout=self._timeout))

    async def attach_interface(
        self, request: sd.AttachInterfaceRequest
    ) -> agent_pb2.NetworkInterface:
        return await self._call(self._stub.AttachInterface(request, timeout=self._timeout))

    async def detach_interface(self, request: sd.DetachInterfaceRequest) -> None:
        await self._call(self._stub.DetachInterface(request, timeout=self._timeout))

    async def list_volumes(self, uuid: str) -> list[sd.VolumeAttachment]:
        request = sd.ListVolumeAttachmentsRequest(uuid=uuid)
        found = await self._call(self._stub.ListVolumeAttachments(request, timeout=self._timeout))
        return list(found.attachments)

    async def attach_volume(self, request: sd.AttachVolumeRequest) -> sd.VolumeAttachment:
        return await self._call(self._stub.AttachVolume(request, timeout=self._timeout))

    async def update_volume(self, request: sd.UpdateVolumeAttachmentRequest) -> sd.VolumeAttachment:
        return await self._call(self._stub.UpdateVolumeAttachment(request, timeout=self._timeout))

    async def detach_volume(self, request: sd.DetachVolumeRequest) -> None:
        await self._call(self._stub.DetachVolume(request, timeout=self._timeout))
