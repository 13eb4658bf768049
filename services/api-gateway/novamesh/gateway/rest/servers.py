"""ServersRestService: /v2.1/servers and /v2.1/servers/{id}/action."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_servers_pb2_grpc, rest_pb2
from novamesh.gateway.api import policy
from novamesh.gateway.api.errors import BadRequest, Unavailable
from novamesh.gateway.api.validation import validate
from novamesh.gateway.clients.services import ServicesClient
from novamesh.gateway.domain import actions, boot, server_groups, servers
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest import server_actions, server_consoles, server_params
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.schemas import servers as schemas
from novamesh.gateway.views import servers as view
from novamesh.gateway.views.common import ViewContext, next_link

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody


def view_context(call: Call, host_statuses: dict[str, str] | None = None) -> ViewContext:
    return ViewContext(
        version=call.version,
        base_url=call.base_url,
        is_admin=policy.allowed(call.who, "os_compute_api:os-extended-server-attributes"),
        project_id=call.who.project_id,
        host_statuses=host_statuses,
    )


async def _groups(deps: Deps, call: Call, instance_uuid: str) -> list[str] | None:
    """2.71's server_groups from the membership rows (None: not shown at this version)."""
    if not call.version.at_least("2.71"):
        return None
    return await server_groups.groups_of(deps, instance_uuid)


class ServersRest(api_servers_pb2_grpc.ServersRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps, services: ServicesClient | None = None) -> None:
        self.rest = rest
        self.deps = deps
        self.services = services

    async def _view_context(self, call: Call) -> ViewContext:
        """The view context, with the compute hosts' statuses when the view shows them."""
        ctx = view_context(call)
        if self.services is None or not (ctx.is_admin and ctx.v("2.16")):
            return ctx
        return view_context(call, await servers.host_statuses(self.services))

    async def CreateServer(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.create(call.version), body)
            result = await boot.create(
                self.deps, call.who, call.request_id, server_params.boot_request(body)
            )
            if server_params.to_bool_flag(body, "return_reservation_id"):
                return Reply({"reservation_id": result.reservation_id}, 202)
            first = result.instances[0]
            ctx = view_context(call)
            return Reply(
                view.created(ctx, first, result.admin_pass),
                202,
                [("location", f"{call.versioned_url}/servers/{first.uuid}")],
            )

        return await self.rest.handle(context, request, run)

    async def _list(self, request: Req, context: Ctx, detail: bool) -> Body:
        async def run(call: Call) -> Reply:
            rule = "os_compute_api:servers:detail" if detail else "os_compute_api:servers:index"
            policy.authorize(call.who, rule)
            max_limit = self.deps.cfg.api.max_limit
            q = server_params.list_query(call, max_limit, detail)
            q.cell_down_support = call.version.at_least("2.69")
            instances, _unreachable = await servers.list_servers(self.deps, call.who, q)
            ctx = await self._view_context(call) if detail else view_context(call)
            items = [
                view.detail(ctx, inst) if detail else view.summary(ctx, inst)
                for inst in instances
                if not inst.unreachable or ctx.v("2.69")
            ]
            body: dict[str, Any] = {"servers": items}
            if items and len(instances) == q.limit:
                path = "servers/detail" if detail else "servers"
                body["servers_links"] = next_link(
                    ctx, path, dict(call.query.as_dict()), instances[-1].uuid
                )
            return Reply(body)

        return await self.rest.handle(context, request, run)

    async def ListServers(self, request: Req, context: Ctx) -> Body:
        return await self._list(request, context, detail=False)

    async def ListServersDetail(self, request: Req, context: Ctx) -> Body:
        return await self._list(request, context, detail=True)

    async def GetServer(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            inst = await servers.get(self.deps, call.who, call.path_id)
            policy.authorize(call.who, "os_compute_api:servers:show", inst.project_id)
            if inst.unreachable and not call.version.at_least("2.69"):
                # Nova answers 503 below 2.69 when the server's cell does not answer.
                raise Unavailable("The server's cell is not reachable; try again later.")
            groups = await _groups(self.deps, call, inst.uuid)
            ctx = await self._view_context(call)
            body = view.detail(ctx, inst, show=True, server_groups=groups)
            return Reply({"server": body})

        return await self.rest.handle(context, request, run)

    async def UpdateServer(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.update(call.version), body)
            inst = await servers.update(
                self.deps, call.who, call.path_id, server_params.server_update(body)
            )
            ctx = await self._view_context(call)
            full = call.version.at_least("2.75")
            groups = await _groups(self.deps, call, inst.uuid)
            body = view.detail(ctx, inst, show=True, full=full, server_groups=groups)
            return Reply({"server": body})

        return await self.rest.handle(context, request, run)

    async def DeleteServer(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            await server_actions.delete(self.deps, call)
            return Reply(None, 204)

        return await self.rest.handle(context, request, run)

    async def ServerAction(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            if not isinstance(body, dict) or len(body) != 1:
                names = ",".join(body) if isinstance(body, dict) and body else "None"
                raise BadRequest(f"There is no such action: {names}")
            (name,) = body
            if name in server_consoles.LEGACY_NAMES:
                return await server_consoles.legacy_action(self.deps, call, name, body[name])
            mine = name in server_actions.NAMES
            schema = (
                server_actions.schema(name, call) if mine else schemas.action(name, call.version)
            )
            if schema is None:
                raise BadRequest(f"There is no such action: {name}")
            validate(schema, body)
            inst = await servers.get(self.deps, call.who, call.path_id)
            if mine:
                return await server_actions.run(self.deps, call, inst, name, body[name])
            key, params = _action_key(name, body[name])
            await actions.run(self.deps, call.who, call.request_id, inst, key, params)
            return Reply(None, 202)

        return await self.rest.handle(context, request, run)


def _action_key(name: str, arg: Any) -> tuple[str, dict[str, str]]:
    if name == "os-start":
        return "start", {}
    if name == "os-stop":
        return "stop", {}
    if name == "reboot":
        kind = str(arg["type"]).upper()
        return ("reboot_hard" if kind == "HARD" else "reboot_soft"), {"type": kind}
    if name == "lock":
        reason = (arg or {}).get("locked_reason", "")
        return "lock", {"locked_reason": reason} if reason else {}
    return name, {}
