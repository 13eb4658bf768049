"""ServerConsolesRestService: /v2.1/servers/{id}/remote-consoles, /v2.1/os-console-auth-tokens,
and the pre-2.6 console actions that ServerAction hands over."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_server_consoles_pb2_grpc, rest_pb2
from novamesh.gateway.api.errors import NotFound
from novamesh.gateway.api.validation import validate
from novamesh.gateway.clients.devices import GrpcDevices
from novamesh.gateway.domain import consoles
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.domain.device_ports import Devices
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.schemas import consoles as schemas

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody

LEGACY_NAMES = frozenset(schemas.LEGACY_ACTIONS)


async def legacy_action(deps: Deps, call: Call, name: str, arg: Any) -> Reply:
    """os-getVNCConsole and friends (2.1-2.5): {"console": {"type", "url"}}."""
    if not call.version.at_most("2.5"):
        raise NotFound(f"There is no such action: {name}")
    validate(schemas.legacy_action(name), {name: arg})
    protocol, _ = schemas.LEGACY_ACTIONS[name]
    # A deprecated path: a client of its own for the call rather than one held by ServersRest.
    devices = GrpcDevices(deps.cfg.endpoints.router)
    try:
        console = await consoles.create(
            deps, devices, call.who, call.path_id, protocol, arg["type"], call.base_url
        )
    finally:
        await devices.close()
    return Reply({"console": {"type": console.console_type, "url": console.url}})


class ServerConsolesRest(api_server_consoles_pb2_grpc.ServerConsolesRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps, devices: Devices) -> None:
        self.rest = rest
        self.deps = deps
        self.devices = devices

    async def CreateRemoteConsole(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.remote_console(call.version), body)
            asked = body["remote_console"]
            console = await consoles.create(
                self.deps,
                self.devices,
                call.who,
                call.path_id,
                asked["protocol"],
                asked["type"],
                call.base_url,
            )
            return Reply(
                {
                    "remote_console": {
                        "protocol": console.protocol,
                        "type": console.console_type,
                        "url": console.url,
                    }
                }
            )

        return await self.rest.handle(context, request, run, min_version="2.6")

    async def GetConsoleAuthToken(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            rdp_only = not call.version.at_least("2.31")
            found = await consoles.connect_info(self.deps, call.who, call.path_id, rdp_only)
            console: dict[str, Any] = {
                "instance_uuid": found.instance_uuid,
                "host": found.host,
                "port": found.port,
                "internal_access_path": found.internal_access_path,
            }
            if call.version.at_least("2.99"):
                console["tls_port"] = found.tls_port
            return Reply({"console": console})

        return await self.rest.handle(context, request, run)
