"""What the domain needs from the router for a server's devices (the gRPC adapter and the test
fake implement it)."""

from __future__ import annotations

from typing import Protocol

from novamesh.agent.v1 import agent_pb2
from novamesh.cells.v1 import server_devices_pb2 as sd


class Devices(Protocol):
    async def diagnostics(self, uuid: str) -> sd.ServerDiagnostics: ...

    async def console(self, uuid: str, protocol: str) -> sd.ConsoleEndpoint: ...

    async def attach_interface(
        self, request: sd.AttachInterfaceRequest
    ) -> agent_pb2.NetworkInterface: ...

    async def detach_interface(self, request: sd.DetachInterfaceRequest) -> None: ...

    async def list_volumes(self, uuid: str) -> list[sd.VolumeAttachment]: ...

    async def attach_volume(self, request: sd.AttachVolumeRequest) -> sd.VolumeAttachment: ...

    async def update_volume(
        self, request: sd.UpdateVolumeAttachmentRequest
    ) -> sd.VolumeAttachment: ...

    async def detach_volume(self, request: sd.DetachVolumeRequest) -> None: ...
