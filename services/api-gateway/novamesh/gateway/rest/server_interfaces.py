"""ServerInterfacesRestService: /v2.1/servers/{id}/os-interface[/{port_id}]."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_server_interfaces_pb2_grpc, rest_pb2
from novamesh.gateway.api.errors import BadRequest
from novamesh.gateway.api.validation import validate
from novamesh.gateway.domain import interfaces as domain
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.domain.device_ports import Devices
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.schemas import interfaces as schemas
from novamesh.gateway.views import interfaces as view

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody


class ServerInterfacesRest(api_server_interfaces_pb2_grpc.ServerInterfacesRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps, devices: Devices) -> None:
        self.rest = rest
        self.deps = deps
        self.devices = devices

    def _view(self, call: Call, vif: Any) -> dict[str, Any]:
        net_id = domain.network_id(self.deps, vif.network)
        return view.interface(vif, net_id, call.version.at_least("2.70"))

    async def ListServerInterfaces(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            ports = await domain.list_ports(self.deps, call.who, call.path_id)
            return Reply({"interfaceAttachments": [self._view(call, v) for v in ports]})

        return await self.rest.handle(context, request, run)

    async def GetServerInterface(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            vif = await domain.get_port(self.deps, call.who, call.path_id, call.sub_id)
            return Reply({"interfaceAttachment": self._view(call, vif)})

        return await self.rest.handle(context, request, run)

    async def AttachServerInterface(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.create(call.version), body)
            asked = body.get("interfaceAttachment") or {}
            if asked.get("net_id") and asked.get("port_id"):
                raise BadRequest("Must not input both network_id and port_id")
            fixed = asked.get("fixed_ips") or []
            if fixed and not asked.get("net_id"):
                raise BadRequest("Must input network_id when request IP address")
            want = domain.AttachRequest(
                net_id=asked.get("net_id", ""),
                port_id=asked.get("port_id", ""),
                fixed_ip=fixed[0]["ip_address"] if fixed else "",
                tag=asked.get("tag") or "",
            )
            vif = await domain.attach(self.deps, self.devices, call.who, call.path_id, want)
            return Reply({"interfaceAttachment": self._view(call, vif)})

        return await self.rest.handle(context, request, run)

    async def DetachServerInterface(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            await domain.detach(self.deps, self.devices, call.who, call.path_id, call.sub_id)
            return Reply(None, 202)

        return await self.rest.handle(context, request, run)
