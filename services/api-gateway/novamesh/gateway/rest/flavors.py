"""FlavorsRestService: /v2.1/flavors."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_flavors_pb2_grpc, rest_pb2
from novamesh.gateway.api import policy
from novamesh.gateway.api.errors import BadRequest
from novamesh.gateway.api.validation import validate
from novamesh.gateway.db.catalog import FLAVOR_SORT_KEYS, FlavorQuery, NewFlavor
from novamesh.gateway.domain import flavors
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.schemas import flavors as schemas
from novamesh.gateway.schemas.types import to_bool
from novamesh.gateway.views import flavors as view
from novamesh.gateway.views.common import ViewContext, next_link

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody

_KNOWN = {"is_public", "minRam", "minDisk", "sort_key", "sort_dir", "limit", "marker"}


def _ctx(call: Call) -> ViewContext:
    return ViewContext(call.version, call.base_url, call.who.is_admin, call.who.project_id)


def _int_param(call: Call, key: str) -> int | None:
    raw = call.query.get(key)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"Invalid {key} filter [{raw}]") from None


def _query(call: Call, max_limit: int) -> FlavorQuery:
    known = set(_KNOWN) | ({"name"} if call.version.at_least("2.102") else set())
    if call.version.at_least("2.75"):
        call.query.check_known(known)
    raw_public = call.query.get("is_public")
    is_public: bool | None = True
    if raw_public is not None:
        is_public = None if raw_public.lower() == "none" else call.query.bool_param("is_public")
    sort_key = call.query.get("sort_key") or "flavorid"
    if sort_key not in FLAVOR_SORT_KEYS:
        raise BadRequest(f"Invalid input for query parameters sort_key. Value: {sort_key}.")
    sort_dir = call.query.get("sort_dir") or "asc"
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid input for query parameters sort_dir. Value: {sort_dir}.")
    return FlavorQuery(
        is_public=is_public,
        min_ram=_int_param(call, "minRam"),
        min_disk=_int_param(call, "minDisk"),
        sort_key=sort_key,
        sort_dir=sort_dir,
        limit=call.query.limit(max_limit),
        marker=call.query.get("marker"),
    )


class FlavorsRest(api_flavors_pb2_grpc.FlavorsRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps) -> None:
        self.rest = rest
        self.deps = deps

    def _extra_specs(self, call: Call) -> bool:
        return policy.allowed(call.who, "os_compute_api:os-flavor-extra-specs:index")

    async def _list(self, request: Req, context: Ctx, detail: bool) -> Body:
        async def run(call: Call) -> Reply:
            q = _query(call, self.deps.cfg.api.max_limit)
            found = await flavors.list_flavors(self.deps, call.who, q)
            name = call.query.get("name") if call.version.at_least("2.102") else None
            if name:
                found = [f for f in found if f.name == name]
            ctx = _ctx(call)
            specs = self._extra_specs(call)
            items = [view.detail(ctx, f, specs) if detail else view.summary(ctx, f) for f in found]
            body: dict[str, Any] = {"flavors": items}
            if items and len(found) == q.limit:
                path = "flavors/detail" if detail else "flavors"
                body["flavors_links"] = next_link(
                    ctx, path, dict(call.query.as_dict()), found[-1].flavorid
                )
            return Reply(body)

        return await self.rest.handle(context, request, run)

    async def ListFlavors(self, request: Req, context: Ctx) -> Body:
        return await self._list(request, context, detail=False)

    async def ListFlavorsDetail(self, request: Req, context: Ctx) -> Body:
        return await self._list(request, context, detail=True)

    async def GetFlavor(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            flavor = await flavors.get(self.deps, call.who, call.path_id)
            return Reply({"flavor": view.detail(_ctx(call), flavor, self._extra_specs(call))})

        return await self.rest.handle(context, request, run)

    async def CreateFlavor(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            policy.authorize(call.who, "os_compute_api:os-flavor-manage:create")
            body = call.body()
            validate(schemas.create(call.version), body)
            f = body["flavor"]
            flavor = await flavors.create(
                self.deps,
                call.who,
                NewFlavor(
                    flavorid="" if f.get("id") is None else str(f["id"]),
                    name=f["name"],
                    memory_mb=int(f["ram"]),
                    vcpus=int(f["vcpus"]),
                    root_gb=int(f["disk"]),
                    ephemeral_gb=int(f.get("OS-FLV-EXT-DATA:ephemeral", 0)),
                    swap=int(f.get("swap", 0)),
                    rxtx_factor=float(f.get("rxtx_factor", 1.0)),
                    is_public=to_bool(f.get("os-flavor-access:is_public", True)),
                    description=f.get("description"),
                ),
            )
            return Reply({"flavor": view.detail(_ctx(call), flavor, self._extra_specs(call))})

        return await self.rest.handle(context, request, run)

    async def UpdateFlavor(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            policy.authorize(call.who, "os_compute_api:os-flavor-manage:update")
            body = call.body()
            validate(schemas.UPDATE, body)
            flavor = await flavors.describe(
                self.deps, call.who, call.path_id, body["flavor"]["description"]
            )
            return Reply({"flavor": view.detail(_ctx(call), flavor, self._extra_specs(call))})

        return await self.rest.handle(context, request, run, min_version="2.55")

    async def DeleteFlavor(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            await flavors.delete(self.deps, call.who, call.path_id)
            return Reply(None, 202)

        return await self.rest.handle(context, request, run)
