"""AggregatesRestService (/v2.1/os-aggregates) and AvailabilityZonesRestService
(/v2.1/os-availability-zone)."""

from __future__ import annotations

import logging
from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_aggregates_pb2_grpc, rest_pb2
from novamesh.gateway.api import policy
from novamesh.gateway.api.errors import ApiError, BadRequest
from novamesh.gateway.api.validation import validate
from novamesh.gateway.clients.services import ServicesClient
from novamesh.gateway.domain import aggregates as domain
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.schemas import aggregates as schemas
from novamesh.gateway.views import aggregates as view
from novamesh.gateway.views.common import strtime

LOG = logging.getLogger(__name__)

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody

policy.register("os_compute_api:os-availability-zone:list", "@", "List availability zones")
policy.register("os_compute_api:os-availability-zone:detail", "rule:admin_api", "Zone details")


class AggregatesRest(api_aggregates_pb2_grpc.AggregatesRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps) -> None:
        self.rest = rest
        self.deps = deps

    async def ListAggregates(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            found = await domain.list_aggregates(self.deps, call.who)
            return Reply({"aggregates": [view.show(call.version, a) for a in found]})

        return await self.rest.handle(context, request, run)

    async def CreateAggregate(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.create, body)
            spec = body["aggregate"]
            zone = spec.get("availability_zone")
            if zone is not None and ":" in zone:
                raise BadRequest("Availability zone names must not contain ':'.")
            agg = await domain.create(self.deps, call.who, spec["name"], zone)
            return Reply({"aggregate": view.show(call.version, agg, full=False)})

        return await self.rest.handle(context, request, run)

    async def GetAggregate(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            agg = await domain.get(self.deps, call.who, call.path_id)
            return Reply({"aggregate": view.show(call.version, agg)})

        return await self.rest.handle(context, request, run)

    async def UpdateAggregate(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.update, body)
            spec = body["aggregate"]
            agg = await domain.update(
                self.deps,
                call.who,
                call.path_id,
                spec.get("name"),
                spec.get("availability_zone"),
                "availability_zone" in spec,
            )
            return Reply({"aggregate": view.show(call.version, agg)})

        return await self.rest.handle(context, request, run)

    async def DeleteAggregate(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            await domain.delete(self.deps, call.who, call.path_id)
            return Reply(None, 200)

        return await self.rest.handle(context, request, run)

    async def AggregateAction(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            action = next(iter(body), "") if isinstance(body, dict) and len(body) == 1 else ""
            if action == "add_host":
                validate(schemas.add_host, body)
                agg = await domain.add_host(
                    self.deps, call.who, call.path_id, body["add_host"]["host"]
                )
            elif action == "remove_host":
                validate(schemas.remove_host, body)
                agg = await domain.remove_host(
                    self.deps, call.who, call.path_id, body["remove_host"]["host"]
                )
            elif action == "set_metadata":
                validate(schemas.set_metadata, body)
                agg = await domain.set_metadata(
                    self.deps, call.who, call.path_id, body["set_metadata"]["metadata"]
                )
            else:
                raise BadRequest("Invalid request body: one of add_host, remove_host, set_metadata")
            return Reply({"aggregate": view.show(call.version, agg)})

        return await self.rest.handle(context, request, run)

    async def CacheImages(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.cache_images, body)
            await domain.check_exists(self.deps, call.who, call.path_id)
            # Nova accepts it and each host's driver decides (one without an image cache
            # ignores it). No driver of the mesh keeps one, so nothing goes to the hosts.
            return Reply(None, 202)

        return await self.rest.handle(context, request, run, min_version="2.81")


class AvailabilityZonesRest(api_aggregates_pb2_grpc.AvailabilityZonesRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps, services: ServicesClient | None = None) -> None:
        self.rest = rest
        self.deps = deps
        self.services = services

    async def _states(self) -> list[view.ServiceState] | None:
        if self.services is None:
            return None
        try:
            found = await self.services.list("", "")
        except ApiError as exc:
            # The zones and their hosts still come from the API database.
            LOG.warning("zone detail without service states: %s", exc)
            return None
        return [
            view.ServiceState(
                s.host, s.binary, s.up, not s.disabled,
                strtime(s.updated_at.ToDatetime()) if s.HasField("updated_at") else None,
            )
            for s in found.services
            if not s.unreachable
        ]  # fmt: skip

    async def _zones(self, request: Req, context: Ctx, detail: bool) -> Body:
        async def run(call: Call) -> Reply:
            rule = "detail" if detail else "list"
            policy.authorize(call.who, f"os_compute_api:os-availability-zone:{rule}")
            default = self.deps.cfg.agent.availability_zone
            states = await self._states() if detail else None
            return Reply(view.zones(await domain.zones(self.deps, default), detail, states))

        return await self.rest.handle(context, request, run)

    async def ListAvailabilityZones(self, request: Req, context: Ctx) -> Body:
        return await self._zones(request, context, detail=False)

    async def ListAvailabilityZonesDetail(self, request: Req, context: Ctx) -> Body:
        return await self._zones(request, context, detail=True)
