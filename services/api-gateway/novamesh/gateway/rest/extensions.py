"""ExtensionsRestService: GET /extensions and /extensions/{alias} (deprecated, fixed list)."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_extensions_pb2_grpc, rest_pb2
from novamesh.gateway.api.errors import NotFound
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.views import extensions as view

Body: TypeAlias = httpbody_pb2.HttpBody
Ctx: TypeAlias = grpc.aio.ServicerContext[Any, Any]


def _legacy_v2(context: Ctx) -> bool:
    """Called on the legacy v2 endpoint (/v2/..., the project id already stripped)?"""
    path = dict(context.invocation_metadata() or ()).get("x-envoy-original-path", "")
    return str(path).startswith("/v2/")


class ExtensionsRest(api_extensions_pb2_grpc.ExtensionsRestServiceServicer):
    def __init__(self, rest: Rest) -> None:
        self.rest = rest

    async def ListExtensions(self, request: rest_pb2.RestRequest, context: Ctx) -> Body:
        legacy = _legacy_v2(context)

        async def run(call: Call) -> Reply:
            return Reply(view.index(legacy))

        return await self.rest.handle(context, request, run)

    async def GetExtension(self, request: rest_pb2.RestRequest, context: Ctx) -> Body:
        legacy = _legacy_v2(context)

        async def run(call: Call) -> Reply:
            found = view.show(call.path_id, legacy)
            if found is None:
                raise NotFound("The resource could not be found.")
            return Reply(found)

        return await self.rest.handle(context, request, run)
