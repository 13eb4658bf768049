"""ImagesRestService: Nova's image proxy (GET only, until 2.35), from the API database, and
its image metadata proxy (until 2.38)."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_images_pb2_grpc, rest_pb2
from novamesh.gateway.api.errors import BadRequest, NotFound
from novamesh.gateway.api.validation import validate
from novamesh.gateway.db import catalog
from novamesh.gateway.domain import image_metadata as metadata
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.schemas import image_metadata as schemas
from novamesh.gateway.views import images as view
from novamesh.gateway.views.common import ViewContext, next_link

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody
MAX_VERSION = "2.35"
_FILTERS = ("name", "status", "minRam", "minDisk")


def _ctx(call: Call) -> ViewContext:
    return ViewContext(call.version, call.base_url, call.who.is_admin, call.who.project_id)


class ImagesRest(api_images_pb2_grpc.ImagesRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps) -> None:
        self.rest = rest
        self.deps = deps

    @property
    def _image_url(self) -> str:
        return self.deps.cfg.endpoints.image_public_url

    async def _list(self, request: Req, context: Ctx, detail: bool) -> Body:
        async def run(call: Call) -> Reply:
            filters = {k: call.query.get(k) or "" for k in _FILTERS if k in call.query}
            for key in ("minRam", "minDisk"):
                if key in filters and not filters[key].isdigit():
                    raise BadRequest(f"Invalid {key} filter [{filters[key]}]")
            status = filters.get("status")
            if status:
                # The proxy filters on its own status names; map back to Glance's.
                filters["status"] = {"SAVING": "saving", "ERROR": "killed"}.get(
                    status.upper(), status.lower()
                )
            limit = call.query.limit(self.deps.cfg.api.max_limit)
            marker = call.query.get("marker")
            try:
                found = await catalog.list_images(
                    self.deps.sessions,
                    None if call.who.is_admin else call.who.project_id,
                    filters,
                    limit,
                    marker,
                )
            except catalog.MarkerNotFound:
                raise BadRequest(f"marker [{marker}] not found") from None
            ctx = _ctx(call)
            render = view.detail if detail else view.summary
            items = [render(ctx, self._image_url, image) for image in found]
            body: dict[str, Any] = {"images": items}
            if items and len(found) == limit:
                path = "images/detail" if detail else "images"
                body["images_links"] = next_link(
                    ctx, path, dict(call.query.as_dict()), found[-1].id
                )
            return Reply(body)

        return await self.rest.handle(context, request, run, max_version=MAX_VERSION)

    async def ListImages(self, request: Req, context: Ctx) -> Body:
        return await self._list(request, context, detail=False)

    async def ListImagesDetail(self, request: Req, context: Ctx) -> Body:
        return await self._list(request, context, detail=True)

    async def GetImage(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            image = await catalog.get_image(self.deps.sessions, call.path_id)
            visible = image is not None and (
                call.who.is_admin
                or image.visibility in ("public", "community", "shared")
                or image.owner == call.who.project_id
            )
            if image is None or image.status == "deleted" or not visible:
                raise NotFound("Image not found.")
            return Reply({"image": view.detail(_ctx(call), self._image_url, image)})

        return await self.rest.handle(context, request, run, max_version=MAX_VERSION)

    # -- image metadata ------------------------------------------------------------------

    async def _meta(self, request: Req, context: Ctx, run: Any) -> Body:
        return await self.rest.handle(context, request, run, max_version=metadata.MAX_VERSION)

    async def ListImageMetadata(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            items = await metadata.get_all(self.deps, call.who, call.path_id)
            return Reply({"metadata": items})

        return await self._meta(request, context, run)

    async def MergeImageMetadata(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.ALL, body)
            items = await metadata.merge(self.deps, call.who, call.path_id, body["metadata"])
            return Reply({"metadata": items})

        return await self._meta(request, context, run)

    async def ReplaceImageMetadata(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.ALL, body)
            items = await metadata.replace(self.deps, call.who, call.path_id, body["metadata"])
            return Reply({"metadata": items})

        return await self._meta(request, context, run)

    async def GetImageMetadataItem(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            value = await metadata.get_one(self.deps, call.who, call.path_id, call.sub_id)
            return Reply({"meta": {call.sub_id: value}})

        return await self._meta(request, context, run)

    async def SetImageMetadataItem(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.ONE, body)
            item = await metadata.set_one(
                self.deps, call.who, call.path_id, call.sub_id, body["meta"]
            )
            return Reply({"meta": item})

        return await self._meta(request, context, run)

    async def DeleteImageMetadataItem(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            await metadata.delete_one(self.deps, call.who, call.path_id, call.sub_id)
            return Reply(None, 204)

        return await self._meta(request, context, run)
