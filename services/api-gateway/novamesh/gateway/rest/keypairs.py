"""KeypairsRestService: /v2.1/os-keypairs."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_keypairs_pb2_grpc, rest_pb2
from novamesh.gateway.api import policy
from novamesh.gateway.api.validation import validate
from novamesh.gateway.domain import keypairs
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.schemas import keypairs as schemas
from novamesh.gateway.views import keypairs as view
from novamesh.gateway.views.common import ViewContext, next_link

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody


def _ctx(call: Call) -> ViewContext:
    return ViewContext(call.version, call.base_url, call.who.is_admin, call.who.project_id)


def _user(call: Call, requested: str | None) -> str:
    """The keypair owner: the caller, or from 2.10 any user for an admin."""
    if requested and requested != call.who.user_id and call.version.at_least("2.10"):
        policy.authorize(call.who, "os_compute_api:os-keypairs:other_users")
        return requested
    return call.who.user_id


class KeypairsRest(api_keypairs_pb2_grpc.KeypairsRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps) -> None:
        self.rest = rest
        self.deps = deps

    async def ListKeypairs(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            known = {"user_id"} | ({"limit", "marker"} if call.version.at_least("2.35") else set())
            if call.version.at_least("2.75"):
                call.query.check_known(known)
            user = _user(call, call.query.get("user_id"))
            paged = call.version.at_least("2.35")
            limit = call.query.limit(self.deps.cfg.api.max_limit) if paged else None
            marker = call.query.get("marker") if paged else None
            found = await keypairs.list_keypairs(self.deps, user, limit, marker)
            ctx = _ctx(call)
            body: dict[str, Any] = {"keypairs": [view.summary(ctx, kp) for kp in found]}
            if paged and found and len(found) == limit:
                body["keypairs_links"] = next_link(
                    ctx, "os-keypairs", dict(call.query.as_dict()), found[-1].name
                )
            return Reply(body)

        return await self.rest.handle(context, request, run)

    async def CreateKeypair(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.create(call.version), body)
            kp = body["keypair"]
            new = keypairs.NewKeypair(
                name=kp["name"],
                user_id=_user(call, kp.get("user_id")),
                type=kp.get("type", "ssh"),
                public_key=kp.get("public_key"),
            )
            record, private_key = await keypairs.create(self.deps, new)
            status = 201 if call.version.at_least("2.2") else 200
            return Reply(view.created(_ctx(call), record, private_key), status)

        return await self.rest.handle(context, request, run)

    async def GetKeypair(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            user = _user(call, call.query.get("user_id"))
            return Reply(view.show(_ctx(call), await keypairs.get(self.deps, user, call.path_id)))

        return await self.rest.handle(context, request, run)

    async def DeleteKeypair(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            user = _user(call, call.query.get("user_id"))
            await keypairs.delete(self.deps, user, call.path_id)
            return Reply(None, 204 if call.version.at_least("2.2") else 202)

        return await self.rest.handle(context, request, run)
