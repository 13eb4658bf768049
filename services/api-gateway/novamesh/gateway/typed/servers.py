"""compute.v1.ServersService: the typed face, on the same domain code as the REST face."""

from __future__ import annotations

import base64
import collections
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from novamesh.cells.v1 import router_pb2
from novamesh.common import context as reqctx
from novamesh.compute.v1 import servers_pb2, servers_pb2_grpc
from novamesh.gateway.api import policy
from novamesh.gateway.api.auth import Identity, authenticate
from novamesh.gateway.api.errors import ApiError, BadRequest
from novamesh.gateway.domain import boot, servers, states
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest.call import grpc_code
from novamesh.gateway.typed.convert import server

Ctx = grpc.aio.ServicerContext[Any, Any]
T = TypeVar("T")

# Remembered CreateServer answers by (project, request_id): a retry returns the first result.
# Per process and bounded; a retry that lands on another replica boots again.
_IDEMPOTENCY_SIZE = 1024


def _page_token(uuid: str) -> str:
    return base64.urlsafe_b64encode(uuid.encode()).decode()


def _marker(token: str) -> str:
    try:
        marker = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("invalid page_token") from None
    if not re.fullmatch(r"[0-9a-f-]{36}", marker):
        raise BadRequest("invalid page_token")
    return marker


class ServersTyped(servers_pb2_grpc.ServersServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._created: collections.OrderedDict[tuple[str, str], servers_pb2.CreateServerResponse]
        self._created = collections.OrderedDict()

    def _identity(self, ctx: Ctx) -> Identity:
        md = {k: v for k, v in (ctx.invocation_metadata() or ()) if isinstance(v, str)}
        return authenticate(self.deps.cfg.auth, md)

    async def _run(self, ctx: Ctx, fn: Callable[[Identity, str], Awaitable[T]]) -> T:
        try:
            who = self._identity(ctx)
            request_id = reqctx.current_request_id() or reqctx.new_request_id()
            token = reqctx.bind(
                reqctx.RequestContext(request_id, who.user_id, who.project_id, who.roles)
            )
            try:
                return await fn(who, request_id)
            finally:
                reqctx.reset(token)
        except ApiError as exc:
            await ctx.abort(grpc_code(exc.status), exc.message)
            raise AssertionError("unreachable") from exc

    async def CreateServer(
        self, request: servers_pb2.CreateServerRequest, context: Ctx
    ) -> servers_pb2.CreateServerResponse:
        async def run(who: Identity, request_id: str) -> servers_pb2.CreateServerResponse:
            key = (who.project_id, request.request_id)
            if request.request_id and key in self._created:
                return self._created[key]
            if not request.name or not request.flavor_ref:
                raise BadRequest("name and flavor_ref are required")
            result = await boot.create(
                self.deps,
                who,
                request_id,
                boot.BootRequest(
                    name=request.name,
                    flavor_ref=request.flavor_ref,
                    image_ref=request.image_ref,
                    metadata=dict(request.metadata),
                    key_name=request.key_name,
                    availability_zone=request.availability_zone,
                    user_data=request.user_data,
                    description=request.description,
                ),
            )
            response = servers_pb2.CreateServerResponse(
                server=server(result.instances[0]), admin_pass=result.admin_pass
            )
            if request.request_id:
                self._created[key] = response
                while len(self._created) > _IDEMPOTENCY_SIZE:
                    self._created.popitem(last=False)
            return response

        return await self._run(context, run)

    async def GetServer(
        self, request: servers_pb2.GetServerRequest, context: Ctx
    ) -> servers_pb2.Server:
        async def run(who: Identity, _rid: str) -> servers_pb2.Server:
            return server(await servers.get(self.deps, who, request.id))

        return await self._run(context, run)

    async def ListServers(
        self, request: servers_pb2.ListServersRequest, context: Ctx
    ) -> servers_pb2.ListServersResponse:
        async def run(who: Identity, _rid: str) -> servers_pb2.ListServersResponse:
            max_limit = self.deps.cfg.api.max_limit
            size = min(request.page_size or max_limit, max_limit)
            if request.page_size < 0:
                raise BadRequest("page_size must not be negative")
            q = servers.ListQuery(
                limit=size,
                marker=_marker(request.page_token) if request.page_token else "",
                name=request.name,
            )
            if request.all_projects:
                policy.authorize(who, "os_compute_api:servers:index:get_all_tenants")
                q.all_projects = True
            if request.status:
                found = states.states_for_status(request.status)
                if found is None:
                    return servers_pb2.ListServersResponse()
                q.vm_states, q.task_states = found
            instances, _ = await servers.list_servers(self.deps, who, q)
            response = servers_pb2.ListServersResponse(servers=[server(i) for i in instances])
            if instances and len(instances) == size:
                response.next_page_token = _page_token(instances[-1].uuid)
            return response

        return await self._run(context, run)

    async def DeleteServer(
        self, request: servers_pb2.DeleteServerRequest, context: Ctx
    ) -> servers_pb2.DeleteServerResponse:
        async def run(who: Identity, request_id: str) -> servers_pb2.DeleteServerResponse:
            await servers.delete(self.deps, who, request.request_id or request_id, request.id)
            return servers_pb2.DeleteServerResponse()

        return await self._run(context, run)

    async def WatchServers(
        self, request: servers_pb2.WatchServersRequest, context: Ctx
    ) -> AsyncIterator[servers_pb2.ServerEvent]:
        try:
            who = self._identity(context)
            project = who.project_id
            if request.all_projects:
                policy.authorize(who, "os_compute_api:servers:index:get_all_tenants")
                project = ""
            if request.server_id:
                await servers.get(self.deps, who, request.server_id)
            async for event in self.deps.router.watch_instances(project, request.server_id):
                kind = (
                    servers_pb2.ServerEvent.KIND_DELETED
                    if event.kind == router_pb2.InstanceEvent.KIND_DELETED
                    else servers_pb2.ServerEvent.KIND_UPDATED
                )
                yield servers_pb2.ServerEvent(kind=kind, server=server(event.instance))
        except ApiError as exc:
            await context.abort(grpc_code(exc.status), exc.message)
