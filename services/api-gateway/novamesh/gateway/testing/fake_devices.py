"""An in-memory CellsServerDevicesService over a FakeRouter's instances, for the gateway's
tests: canned diagnostics and console endpoints, interfaces and volumes kept on the fake."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

import grpc
from novamesh.agent.v1 import agent_pb2
from novamesh.cells.v1 import router_pb2, server_devices_pb2_grpc
from novamesh.cells.v1 import server_devices_pb2 as sd
from novamesh.gateway.testing.fake_router import FakeRouter

Ctx = grpc.aio.ServicerContext[Any, Any]


class FakeDevices(server_devices_pb2_grpc.CellsServerDevicesServiceServicer):
    def __init__(self, router: FakeRouter) -> None:
        self.router = router
        # Console protocols the fake "driver" offers.
        self.protocols = {"vnc", "spice", "serial"}
        self.volumes: dict[str, list[sd.VolumeAttachment]] = {}
        # Make the next attach (interface or volume) fail as a refusing host would.
        self.refuse = False

    async def _inst(self, uuid: str, context: Ctx) -> router_pb2.Instance:
        inst = self.router.instances.get(uuid)
        if inst is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"Instance {uuid} could not be found.")
        return inst

    async def _refusing(self, context: Ctx) -> None:
        if self.refuse:
            self.refuse = False
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "the host refused")

    async def GetDiagnostics(
        self, request: sd.GetDiagnosticsRequest, context: Ctx
    ) -> sd.ServerDiagnostics:
        inst = await self._inst(request.uuid, context)
        out = sd.ServerDiagnostics(
            state="running", driver="fake", hypervisor="fake", config_drive=inst.config_drive
        )
        out.memory_maximum = 524288
        out.cpu_details.add(id=0, time=17300000000)
        out.nic_details.add(mac_address="fa:16:3e:00:00:01", rx_octets=2070139)
        out.disk_details.add(read_bytes=262144, read_requests=112)
        out.num_cpus, out.num_nics, out.num_disks = 1, 1, 1
        return out

    async def GetConsole(self, request: sd.GetConsoleRequest, context: Ctx) -> sd.ConsoleEndpoint:
        await self._inst(request.uuid, context)
        if request.protocol not in self.protocols:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not offered")
        return sd.ConsoleEndpoint(instance_uuid=request.uuid, host="10.0.0.9", port=5901)

    async def AttachInterface(
        self, request: sd.AttachInterfaceRequest, context: Ctx
    ) -> agent_pb2.NetworkInterface:
        inst = await self._inst(request.uuid, context)
        await self._refusing(context)
        vif = agent_pb2.NetworkInterface(
            network=request.network_id,
            address=request.fixed_ip or f"10.1.0.{len(inst.interfaces) + 2}",
            version=4,
            mac_address="fa:16:3e:00:00:02",
            port_id=request.port_id or str(uuidlib.uuid4()),
            tag=request.tag,
        )
        inst.interfaces.append(vif)
        return vif

    async def DetachInterface(
        self, request: sd.DetachInterfaceRequest, context: Ctx
    ) -> sd.DetachInterfaceResponse:
        inst = await self._inst(request.uuid, context)
        kept = [v for v in inst.interfaces if v.port_id != request.port_id]
        del inst.interfaces[:]
        inst.interfaces.extend(kept)
        return sd.DetachInterfaceResponse()

    async def ListVolumeAttachments(
        self, request: sd.ListVolumeAttachmentsRequest, context: Ctx
    ) -> sd.ListVolumeAttachmentsResponse:
        await self._inst(request.uuid, context)
        return sd.ListVolumeAttachmentsResponse(attachments=self.volumes.get(request.uuid, []))

    async def AttachVolume(
        self, request: sd.AttachVolumeRequest, context: Ctx
    ) -> sd.VolumeAttachment:
        await self._inst(request.uuid, context)
        await self._refusing(context)
        attached = self.volumes.setdefault(request.uuid, [])
        att = sd.VolumeAttachment(
            bdm_uuid=str(uuidlib.uuid4()),
            server_id=request.uuid,
            volume_id=request.volume_id,
            device=request.device or f"/dev/vd{'bcdefgh'[len(attached)]}",
            tag=request.tag,
            delete_on_termination=request.delete_on_termination,
            attachment_id=str(uuidlib.uuid4()),
        )
        attached.append(att)
        return att

    async def UpdateVolumeAttachment(
        self, request: sd.UpdateVolumeAttachmentRequest, context: Ctx
    ) -> sd.VolumeAttachment:
        await self._inst(request.uuid, context)
        for att in self.volumes.get(request.uuid, []):
            if att.volume_id == request.volume_id:
                if request.new_volume_id:
                    att.volume_id = request.new_volume_id
                if request.HasField("delete_on_termination"):
                    att.delete_on_termination = request.delete_on_termination
                return att
        await context.abort(grpc.StatusCode.NOT_FOUND, "not attached")
        raise AssertionError("unreachable")

    async def DetachVolume(
        self, request: sd.DetachVolumeRequest, context: Ctx
    ) -> sd.DetachVolumeResponse:
        await self._inst(request.uuid, context)
        attached = self.volumes.get(request.uuid, [])
        self.volumes[request.uuid] = [a for a in attached if a.volume_id != request.volume_id]
        return sd.DetachVolumeResponse()
