"""ServerGroupsRestService: /v2.1/os-server-groups."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_server_groups_pb2_grpc, rest_pb2
from novamesh.gateway.api.validation import validate
from novamesh.gateway.domain import server_groups as groups
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.schemas import server_groups as schemas
from novamesh.gateway.views import server_groups as view

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody


class ServerGroupsRest(api_server_groups_pb2_grpc.ServerGroupsRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps) -> None:
        self.rest = rest
        self.deps = deps

    async def ListServerGroups(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            if call.version.at_least("2.75"):
                call.query.check_known({"all_projects", "limit", "offset"})
            all_projects = bool(call.query.bool_param("all_projects"))
            limit = call.query.limit(self.deps.cfg.api.max_limit)
            found = await groups.list_groups(
                self.deps, call.who, all_projects, limit, call.query.offset()
            )
            return Reply({"server_groups": [view.show(call.version, g) for g in found]})

        return await self.rest.handle(context, request, run)

    async def CreateServerGroup(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.create(call.version), body)
            sg = body["server_group"]
            rules = {k: int(v) for k, v in sg.get("rules", {}).items()}
            group = groups.ServerGroup(
                uuid=str(uuidlib.uuid4()),
                name=sg["name"],
                policy=sg["policy"] if "policy" in sg else sg["policies"][0],
                project_id="",
                user_id="",
                rules=rules,
            )
            made = await groups.create(self.deps, call.who, group)
            return Reply({"server_group": view.show(call.version, made)})

        return await self.rest.handle(context, request, run)

    async def GetServerGroup(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            group = await groups.get(self.deps, call.who, call.path_id)
            return Reply({"server_group": view.show(call.version, group)})

        return await self.rest.handle(context, request, run)

    async def DeleteServerGroup(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            await groups.delete(self.deps, call.who, call.path_id)
            return Reply(None, 204)

        return await self.rest.handle(context, request, run)
