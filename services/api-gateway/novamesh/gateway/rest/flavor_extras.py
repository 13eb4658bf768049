"""FlavorExtrasRestService: /v2.1/flavors/{id}/os-extra_specs, os-flavor-access and the
addTenantAccess / removeTenantAccess actions."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_flavor_extras_pb2_grpc, rest_pb2
from novamesh.gateway.api.errors import BadRequest
from novamesh.gateway.api.validation import validate
from novamesh.gateway.domain import flavor_extras as domain
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.schemas import flavor_extras as schemas

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody


def _access(flavor_id: str, projects: list[str]) -> dict[str, Any]:
    return {"flavor_access": [{"flavor_id": flavor_id, "tenant_id": p} for p in projects]}


class FlavorExtrasRest(api_flavor_extras_pb2_grpc.FlavorExtrasRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps) -> None:
        self.rest = rest
        self.deps = deps

    async def ListExtraSpecs(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            specs = await domain.list_specs(self.deps, call.who, call.path_id)
            return Reply({"extra_specs": specs})

        return await self.rest.handle(context, request, run)

    async def CreateExtraSpecs(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.CREATE, body)
            specs = {k: domain.as_text(v) for k, v in body["extra_specs"].items()}
            await domain.set_specs(
                self.deps,
                call.who,
                call.path_id,
                specs,
                validated=call.version.at_least("2.86"),
                rule="create",
            )
            return Reply({"extra_specs": specs})

        return await self.rest.handle(context, request, run)

    async def GetExtraSpec(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            value = await domain.get_spec(self.deps, call.who, call.path_id, call.sub_id)
            return Reply({call.sub_id: value})

        return await self.rest.handle(context, request, run)

    async def UpdateExtraSpec(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.UPDATE, body)
            domain.check_key_matches(call.sub_id, body)
            specs = {call.sub_id: domain.as_text(body[call.sub_id])}
            await domain.set_specs(
                self.deps,
                call.who,
                call.path_id,
                specs,
                validated=call.version.at_least("2.86"),
                rule="update",
            )
            return Reply(specs)

        return await self.rest.handle(context, request, run)

    async def DeleteExtraSpec(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            await domain.delete_spec(self.deps, call.who, call.path_id, call.sub_id)
            return Reply(None, 202)

        return await self.rest.handle(context, request, run)

    async def ListFlavorAccess(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            projects = await domain.list_access(self.deps, call.who, call.path_id)
            return Reply(_access(call.path_id, projects))

        return await self.rest.handle(context, request, run)

    async def FlavorAction(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            if isinstance(body, dict) and "addTenantAccess" in body:
                validate(schemas.ADD_TENANT_ACCESS, body)
                projects = await domain.add_access(
                    self.deps,
                    call.who,
                    call.path_id,
                    body["addTenantAccess"]["tenant"],
                    refuse_public=call.version.at_least("2.7"),
                )
            elif isinstance(body, dict) and "removeTenantAccess" in body:
                validate(schemas.REMOVE_TENANT_ACCESS, body)
                projects = await domain.remove_access(
                    self.deps, call.who, call.path_id, body["removeTenantAccess"]["tenant"]
                )
            else:
                name = next(iter(body), "") if isinstance(body, dict) else ""
                raise BadRequest(f"There is no such action: {name}")
            return Reply(_access(call.path_id, projects))

        return await self.rest.handle(context, request, run)
