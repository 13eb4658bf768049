"""QuotasRestService: /v2.1/os-quota-sets, /v2.1/os-quota-class-sets and /v2.1/limits."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_quotas_pb2_grpc, rest_pb2
from novamesh.gateway.api import policy
from novamesh.gateway.api.validation import validate
from novamesh.gateway.domain import quotas
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.schemas import quotas as schemas
from novamesh.gateway.schemas.types import to_bool
from novamesh.gateway.views import quotas as view

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody


def _user(call: Call) -> str:
    if call.version.at_least("2.75"):
        call.query.check_known({"user_id"})
    return call.query.get("user_id") or ""


def _limits(values: dict[str, Any]) -> dict[str, int]:
    """The body's limits as integers, without nova-network's (accepted, always unlimited)."""
    return {
        k: int(v) for k, v in values.items() if k != "force" and k not in quotas.NETWORK_RESOURCES
    }


class QuotasRest(api_quotas_pb2_grpc.QuotasRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps) -> None:
        self.rest = rest
        self.deps = deps

    async def GetQuotaSet(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            user_id = _user(call)
            policy.authorize(call.who, "os_compute_api:os-quota-sets:show", call.path_id)
            limits = await quotas.limits_for(self.deps, call.path_id, user_id)
            return Reply(view.quota_set(call.version, limits, call.path_id))

        return await self.rest.handle(context, request, run)

    async def GetQuotaSetDefaults(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            policy.authorize(call.who, "os_compute_api:os-quota-sets:defaults")
            limits = await quotas.class_limits(self.deps, quotas.DEFAULT_CLASS)
            return Reply(view.quota_set(call.version, limits, call.path_id))

        return await self.rest.handle(context, request, run)

    async def GetQuotaSetDetail(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            user_id = _user(call)
            policy.authorize(call.who, "os_compute_api:os-quota-sets:detail", call.path_id)
            usage = await quotas.detail(self.deps, call.path_id, user_id)
            return Reply(view.quota_detail(call.version, call.path_id, usage))

        return await self.rest.handle(context, request, run)

    async def UpdateQuotaSet(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            user_id = _user(call)
            policy.authorize(call.who, "os_compute_api:os-quota-sets:update", call.path_id)
            body = call.body()
            validate(schemas.update_quota_set(view.quota_set_resources(call.version)), body)
            values = body["quota_set"]
            await quotas.update(
                self.deps,
                call.path_id,
                user_id,
                _limits(values),
                force=to_bool(values.get("force", False)),
            )
            limits = await quotas.limits_for(self.deps, call.path_id, user_id)
            return Reply(view.quota_set(call.version, limits))

        return await self.rest.handle(context, request, run)

    async def DeleteQuotaSet(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            user_id = _user(call)
            policy.authorize(call.who, "os_compute_api:os-quota-sets:delete", call.path_id)
            await quotas.reset(self.deps, call.path_id, user_id)
            return Reply(None, 202)

        return await self.rest.handle(context, request, run)

    async def GetQuotaClassSet(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            policy.authorize(call.who, "os_compute_api:os-quota-class-sets:show")
            limits = await quotas.class_limits(self.deps, call.path_id)
            return Reply(view.quota_class_set(call.version, limits, call.path_id))

        return await self.rest.handle(context, request, run)

    async def UpdateQuotaClassSet(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            policy.authorize(call.who, "os_compute_api:os-quota-class-sets:update")
            body = call.body()
            validate(schemas.update_quota_class_set(view.class_set_resources(call.version)), body)
            await quotas.update_class(self.deps, call.path_id, _limits(body["quota_class_set"]))
            limits = await quotas.class_limits(self.deps, call.path_id)
            return Reply(view.quota_class_set(call.version, limits))

        return await self.rest.handle(context, request, run)

    async def GetLimits(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            if call.version.at_least("2.75"):
                call.query.check_known({"tenant_id", "reserved"})
            policy.authorize(call.who, "os_compute_api:limits")
            project_id = call.query.get("tenant_id") or call.who.project_id
            if project_id != call.who.project_id:
                policy.authorize(call.who, "os_compute_api:limits:other_project")
            limits = await quotas.limits_for(self.deps, project_id)
            used = await quotas.usage(self.deps, project_id)
            return Reply(view.absolute_limits(call.version, limits, used))

        return await self.rest.handle(context, request, run)
