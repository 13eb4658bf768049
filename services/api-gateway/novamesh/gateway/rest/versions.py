"""VersionsRestService: the version documents."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_versions_pb2_grpc, rest_pb2
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.views import versions as view

Body: TypeAlias = httpbody_pb2.HttpBody


class VersionsRest(api_versions_pb2_grpc.VersionsRestServiceServicer):
    def __init__(self, rest: Rest) -> None:
        self.rest = rest

    async def ListVersions(
        self, request: rest_pb2.RestRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Body:
        async def run(call: Call) -> Reply:
            return Reply(view.versions(call.base_url))

        return await self.rest.handle(context, request, run, versioned=False)

    async def GetVersion(
        self, request: rest_pb2.RestRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Body:
        path = dict(context.invocation_metadata() or ()).get("x-envoy-original-path", "/v2.1")
        version_id = "v2.0" if str(path).split("?")[0].rstrip("/") == "/v2" else "v2.1"

        async def run(call: Call) -> Reply:
            return Reply(view.version(version_id, call.base_url))

        return await self.rest.handle(context, request, run)
