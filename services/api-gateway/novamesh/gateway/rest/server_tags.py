"""ServerTagsRestService: /v2.1/servers/{id}/tags[/{tag}] (2.26)."""

from __future__ import annotations

from typing import Any, TypeAlias
from urllib.parse import quote

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_server_tags_pb2_grpc, rest_pb2
from novamesh.gateway.api.validation import validate
from novamesh.gateway.domain import server_tags as domain
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest.call import Call, Handler, Reply, Rest
from novamesh.gateway.schemas import server_subresources as schemas

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody

MIN_VERSION = "2.26"


class ServerTagsRest(api_server_tags_pb2_grpc.ServerTagsRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps) -> None:
        self.rest = rest
        self.deps = deps

    async def _handle(self, request: Req, context: Ctx, run: Handler) -> Body:
        return await self.rest.handle(context, request, run, min_version=MIN_VERSION)

    async def ListServerTags(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            return Reply({"tags": await domain.list_tags(self.deps, call.who, call.path_id)})

        return await self._handle(request, context, run)

    async def ReplaceServerTags(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.tags_all, body)
            tags = await domain.replace(self.deps, call.who, call.path_id, body["tags"])
            return Reply({"tags": tags})

        return await self._handle(request, context, run)

    async def DeleteServerTags(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            await domain.delete_all(self.deps, call.who, call.path_id)
            return Reply(None, 204)

        return await self._handle(request, context, run)

    async def CheckServerTag(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            await domain.has_tag(self.deps, call.who, call.path_id, call.sub_id)
            return Reply(None, 204)

        return await self._handle(request, context, run)

    async def AddServerTag(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            if not await domain.add(self.deps, call.who, call.path_id, call.sub_id):
                return Reply(None, 204)
            tag = quote(call.sub_id, safe="")
            location = f"{call.versioned_url}/servers/{call.path_id}/tags/{tag}"
            return Reply(None, 201, [("location", location)])

        return await self._handle(request, context, run)

    async def DeleteServerTag(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            await domain.delete(self.deps, call.who, call.path_id, call.sub_id)
            return Reply(None, 204)

        return await self._handle(request, context, run)
