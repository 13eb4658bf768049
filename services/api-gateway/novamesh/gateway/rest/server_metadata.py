"""ServerMetadataRestService: /v2.1/servers/{id}/metadata[/{key}]."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_server_metadata_pb2_grpc, rest_pb2
from novamesh.gateway.api.errors import BadRequest
from novamesh.gateway.api.validation import validate
from novamesh.gateway.domain import server_metadata as domain
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.schemas import server_subresources as schemas

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody


class ServerMetadataRest(api_server_metadata_pb2_grpc.ServerMetadataRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps) -> None:
        self.rest = rest
        self.deps = deps

    async def ListServerMetadata(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            items = await domain.list_items(self.deps, call.who, call.path_id)
            return Reply({"metadata": items})

        return await self.rest.handle(context, request, run)

    async def CreateServerMetadata(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.metadata_all, body)
            items = await domain.merge(self.deps, call.who, call.path_id, body["metadata"])
            return Reply({"metadata": items})

        return await self.rest.handle(context, request, run)

    async def ReplaceServerMetadata(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.metadata_all, body)
            items = await domain.replace(self.deps, call.who, call.path_id, body["metadata"])
            return Reply({"metadata": items})

        return await self.rest.handle(context, request, run)

    async def GetServerMetadataItem(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            value = await domain.get_item(self.deps, call.who, call.path_id, call.sub_id)
            return Reply({"meta": {call.sub_id: value}})

        return await self.rest.handle(context, request, run)

    async def SetServerMetadataItem(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.metadata_item, body)
            meta = body["meta"]
            if call.sub_id not in meta:
                raise BadRequest("Request body and URI mismatch")
            value = meta[call.sub_id]
            await domain.set_item(self.deps, call.who, call.path_id, call.sub_id, value)
            return Reply({"meta": {call.sub_id: value}})

        return await self.rest.handle(context, request, run)

    async def DeleteServerMetadataItem(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            await domain.delete_item(self.deps, call.who, call.path_id, call.sub_id)
            return Reply(None, 204)

        return await self.rest.handle(context, request, run)
