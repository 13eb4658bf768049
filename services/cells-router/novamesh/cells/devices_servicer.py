"""CellsServerDevicesService: diagnostics, consoles, interface and volume attachments."""

from __future__ import annotations

from typing import Any

import grpc
from novamesh.agent.v1 import agent_pb2
from novamesh.cells.devices import Devices
from novamesh.cells.servicer import _answer
from novamesh.cells.v1 import server_devices_pb2 as sd
from novamesh.cells.v1 import server_devices_pb2_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]


class DevicesServicer(server_devices_pb2_grpc.CellsServerDevicesServiceServicer):
    def __init__(self, devices: Devices) -> None:
        self._devices = devices

    async def GetDiagnostics(
        self, request: sd.GetDiagnosticsRequest, context: Ctx
    ) -> sd.ServerDiagnostics:
        return await _answer(context, self._devices.diagnostics(request.uuid))

    async def GetConsole(self, request: sd.GetConsoleRequest, context: Ctx) -> sd.ConsoleEndpoint:
        return await _answer(context, self._devices.console(request.uuid, request.protocol))

    async def AttachInterface(
        self, request: sd.AttachInterfaceRequest, context: Ctx
    ) -> agent_pb2.NetworkInterface:
        return await _answer(context, self._devices.attach_interface(request))

    async def DetachInterface(
        self, request: sd.DetachInterfaceRequest, context: Ctx
    ) -> sd.DetachInterfaceResponse:
        await _answer(context, self._devices.detach_interface(request))
        return sd.DetachInterfaceResponse()

    async def ListVolumeAttachments(
        self, request: sd.ListVolumeAttachmentsRequest, context: Ctx
    ) -> sd.ListVolumeAttachmentsResponse:
        found = await _answer(context, self._devices.list_volumes(request.uuid))
        return sd.ListVolumeAttachmentsResponse(attachments=found)

    async def AttachVolume(
        self, request: sd.AttachVolumeRequest, context: Ctx
    ) -> sd.VolumeAttachment:
        return await _answer(context, self._devices.attach_volume(request))

    async def UpdateVolumeAttachment(
        self, request: sd.UpdateVolumeAttachmentRequest, context: Ctx
    ) -> sd.VolumeAttachment:
        return await _answer(context, self._devices.update_volume(request))

    async def DetachVolume(
        self, request: sd.DetachVolumeRequest, context: Ctx
    ) -> sd.DetachVolumeResponse:
        await _answer(context, self._devices.detach_volume(request))
        return sd.DetachVolumeResponse()
