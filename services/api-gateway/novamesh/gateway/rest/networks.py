"""NetworksRestService: the deprecated /v2.1/os-networks and /v2.1/os-tenant-networks (read
only, up to 2.35; 404 from 2.36 as in Nova)."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_networks_pb2_grpc, rest_pb2
from novamesh.gateway.domain import networks
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.views import networks as view

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody

MAX_VERSION = "2.35"


class NetworksRest(api_networks_pb2_grpc.NetworksRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps) -> None:
        self.rest = rest
        self.cfg = deps.cfg.network_proxy

    async def _handle(self, request: Req, context: Ctx, run: Any) -> Body:
        return await self.rest.handle(context, request, run, max_version=MAX_VERSION)

    async def ListNetworks(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            found = networks.list_networks(self.cfg, call.who, "os_compute_api:os-networks:list")
            return Reply({"networks": [view.network(n) for n in found]})

        return await self._handle(request, context, run)

    async def GetNetwork(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            net = networks.get(self.cfg, call.who, "os_compute_api:os-networks:view", call.path_id)
            return Reply({"network": view.network(net)})

        return await self._handle(request, context, run)

    async def ListTenantNetworks(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            found = networks.list_networks(
                self.cfg, call.who, "os_compute_api:os-tenant-networks:list"
            )
            return Reply({"networks": [view.tenant_network(n) for n in found]})

        return await self._handle(request, context, run)

    async def GetTenantNetwork(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            net = networks.get(
                self.cfg, call.who, "os_compute_api:os-tenant-networks:show", call.path_id
            )
            return Reply({"network": view.tenant_network(net)})

        return await self._handle(request, context, run)
