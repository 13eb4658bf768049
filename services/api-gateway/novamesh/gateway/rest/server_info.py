"""ServerInfoRestService: /v2.1/servers/{id}/ips, diagnostics, os-server-password, topology."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_server_info_pb2_grpc, rest_pb2
from novamesh.gateway.domain import diagnostics, server_info
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.domain.device_ports import Devices
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.views import diagnostics as diagnostics_view

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody


class ServerInfoRest(api_server_info_pb2_grpc.ServerInfoRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps, devices: Devices) -> None:
        self.rest = rest
        self.deps = deps
        self.devices = devices

    async def ListServerIps(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            return Reply({"addresses": await server_info.ips(self.deps, call.who, call.path_id)})

        return await self.rest.handle(context, request, run)

    async def GetServerIpsByNetwork(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            found = await server_info.ips_on(self.deps, call.who, call.path_id, call.sub_id)
            return Reply({call.sub_id: found})

        return await self.rest.handle(context, request, run)

    async def GetServerDiagnostics(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            found = await diagnostics.get(self.deps, self.devices, call.who, call.path_id)
            if call.version.at_least("2.48"):
                return Reply(diagnostics_view.standard(found))
            return Reply(diagnostics_view.legacy(found))

        return await self.rest.handle(context, request, run)

    async def GetServerPassword(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            found = await server_info.password(self.deps, call.who, call.path_id)
            return Reply({"password": found})

        return await self.rest.handle(context, request, run)

    async def ClearServerPassword(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            await server_info.clear_password(self.deps, call.who, call.path_id)
            return Reply(None, 204)

        return await self.rest.handle(context, request, run)

    async def GetServerTopology(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            return Reply(await server_info.topology(self.deps, call.who, call.path_id))

        return await self.rest.handle(context, request, run, min_version="2.78")
