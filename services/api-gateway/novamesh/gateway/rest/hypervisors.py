"""HypervisorsRestService (/v2.1/os-hypervisors) and SimpleTenantUsageRestService
(/v2.1/os-simple-tenant-usage)."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_hypervisors_pb2_grpc, rest_pb2
from novamesh.gateway.api import policy
from novamesh.gateway.api.errors import BadRequest
from novamesh.gateway.domain import hypervisors, usage
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.views import hypervisors as view
from novamesh.gateway.views import usage as usage_view
from novamesh.gateway.views.common import ViewContext, next_link

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody


def _ctx(call: Call) -> ViewContext:
    return ViewContext(call.version, call.base_url, call.who.is_admin, call.who.project_id)


def _with_servers(call: Call) -> bool:
    if not call.version.at_least("2.53"):
        return False
    return bool(call.query.bool_param("with_servers"))


class HypervisorsRest(api_hypervisors_pb2_grpc.HypervisorsRestServiceServicer):
    def __init__(
        self,
        rest: Rest,
        source: hypervisors.Source,
        max_limit: int,
        uptimes: hypervisors.UptimeSource | None = None,
    ) -> None:
        self.rest = rest
        self.source = source
        self.max_limit = max_limit
        self.uptimes = uptimes

    async def _list(self, request: Req, context: Ctx, detail: bool) -> Body:
        async def run(call: Call) -> Reply:
            v = call.version
            known = set()
            if v.at_least("2.33"):
                known |= {"limit", "marker"}
            if v.at_least("2.53"):
                known |= {"hypervisor_hostname_pattern", "with_servers"}
            if v.at_least("2.75"):
                call.query.check_known(known)
            servers = _with_servers(call)
            rule = "list-detail" if detail else "list"
            found = await hypervisors.list_all(self.source, call.who, rule, with_servers=servers)
            pattern = call.query.get("hypervisor_hostname_pattern") if v.at_least("2.53") else None
            paged = v.at_least("2.33") and ("limit" in call.query or "marker" in call.query)
            if pattern is not None:
                if paged:
                    raise BadRequest(
                        "Paging over hypervisors with the hypervisor_hostname_pattern query "
                        "parameter is not supported."
                    )
                found = hypervisors.matching(found, pattern)
            limit = call.query.limit(self.max_limit) if paged else None
            if v.at_least("2.33"):
                found = hypervisors.page(found, v.at_least("2.53"), limit, call.query.get("marker"))
            render = view.detail if detail else view.summary
            body: dict[str, Any] = {"hypervisors": [render(v, n, servers) for n in found]}
            if limit is not None and found and len(found) == limit:
                path = "os-hypervisors/detail" if detail else "os-hypervisors"
                last = hypervisors.public_id(found[-1], v.at_least("2.53"))
                body["hypervisors_links"] = next_link(
                    _ctx(call), path, dict(call.query.as_dict()), last
                )
            return Reply(body)

        return await self.rest.handle(context, request, run)

    async def ListHypervisors(self, request: Req, context: Ctx) -> Body:
        return await self._list(request, context, detail=False)

    async def ListHypervisorsDetail(self, request: Req, context: Ctx) -> Body:
        return await self._list(request, context, detail=True)

    async def GetHypervisor(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            if call.version.at_least("2.75"):
                call.query.check_known({"with_servers"} if call.version.at_least("2.53") else set())
            servers = _with_servers(call)
            node = await hypervisors.get(
                self.source,
                call.who,
                call.path_id,
                call.version.at_least("2.53"),
                with_servers=servers,
            )
            return Reply({"hypervisor": view.detail(call.version, node, servers)})

        return await self.rest.handle(context, request, run)

    async def GetHypervisorStatistics(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            found = await hypervisors.list_all(self.source, call.who, "statistics")
            return Reply({"hypervisor_statistics": hypervisors.statistics(found)})

        return await self.rest.handle(context, request, run, max_version="2.87")

    async def GetHypervisorUptime(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            policy.authorize(call.who, "os_compute_api:os-hypervisors:uptime")
            node = await hypervisors.get(
                self.source,
                call.who,
                call.path_id,
                call.version.at_least("2.53"),
                with_servers=False,
            )
            shown = view.summary(call.version, node, False)
            shown["uptime"] = await hypervisors.uptime(self.uptimes, node)
            return Reply({"hypervisor": shown})

        return await self.rest.handle(context, request, run, max_version="2.87")

    async def _by_pattern(self, request: Req, context: Ctx, servers: bool) -> Body:
        async def run(call: Call) -> Reply:
            rule = "servers" if servers else "search"
            found = await hypervisors.list_all(self.source, call.who, rule, with_servers=servers)
            hits = hypervisors.matching(found, call.path_id)
            return Reply({"hypervisors": [view.summary(call.version, n, servers) for n in hits]})

        return await self.rest.handle(context, request, run, max_version="2.52")

    async def SearchHypervisors(self, request: Req, context: Ctx) -> Body:
        return await self._by_pattern(request, context, servers=False)

    async def ListHypervisorServers(self, request: Req, context: Ctx) -> Body:
        return await self._by_pattern(request, context, servers=True)


class SimpleTenantUsageRest(api_hypervisors_pb2_grpc.SimpleTenantUsageRestServiceServicer):
    def __init__(self, rest: Rest, source: usage.Source, max_limit: int) -> None:
        self.rest = rest
        self.source = source
        self.max_limit = max_limit

    def _page(self, call: Call, found: list[Any]) -> tuple[list[Any], int | None]:
        if not call.version.at_least("2.40"):
            return found, None
        limit = call.query.limit(self.max_limit) if "limit" in call.query else None
        return usage.page(found, limit, call.query.get("marker")), limit

    def _links(self, call: Call, path: str, shown: list[Any], limit: int | None) -> Any:
        if limit is None or not shown or len(shown) != limit:
            return None
        return next_link(_ctx(call), path, dict(call.query.as_dict()), shown[-1].uuid)

    async def ListTenantUsages(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            policy.authorize(call.who, "os_compute_api:os-simple-tenant-usage:list")
            start, stop = usage.period(call.query.get("start"), call.query.get("end"))
            detailed = call.query.get("detailed") == "1"
            found, limit = self._page(call, await self.source.usage_instances(start, stop, ""))
            tenants = usage.summarise(found, start, stop)
            body: dict[str, Any] = {
                "tenant_usages": [usage_view.tenant_usage(t, detailed) for t in tenants]
            }
            links = self._links(call, "os-simple-tenant-usage", found, limit)
            if links:
                body["tenant_usages_links"] = links
            return Reply(body)

        return await self.rest.handle(context, request, run)

    async def GetTenantUsage(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            policy.authorize(call.who, "os_compute_api:os-simple-tenant-usage:show", call.path_id)
            start, stop = usage.period(call.query.get("start"), call.query.get("end"))
            instances = await self.source.usage_instances(start, stop, call.path_id)
            found, limit = self._page(call, instances)
            tenants = usage.summarise(found, start, stop)
            shown = usage_view.tenant_usage(tenants[0], True) if tenants else {}
            body: dict[str, Any] = {"tenant_usage": shown}
            links = self._links(call, f"os-simple-tenant-usage/{call.path_id}", found, limit)
            if links:
                body["tenant_usage_links"] = links
            return Reply(body)

        return await self.rest.handle(context, request, run)
