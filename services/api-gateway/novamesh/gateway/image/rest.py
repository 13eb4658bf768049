"""The Glance v2 REST face as a gRPC servicer: translate HttpBody + metadata to domain calls.

Statuses other than 200 and response headers go out as initial metadata (`x-http-status`,
`location`, ...); domain errors become gRPC status codes with Glance's message, and the exact
HTTP status rides in trailing `x-http-status` so 413/415 survive the edge's default mapping.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.api.httpbody_pb2 import HttpBody
from novamesh.common import context as request_context
from novamesh.gateway.image import query, schemas, views
from novamesh.gateway.image.auth import Authenticator
from novamesh.gateway.image.domain import BadRequest, Caller, ImageError, NotFound
from novamesh.gateway.image.patch import parse as parse_patch
from novamesh.gateway.image.service import Images
from novamesh.image.v1 import image_rest_pb2, image_rest_pb2_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]
Request = image_rest_pb2.ImageRestRequest
T = TypeVar("T")

JSON = "application/json"
GRPC_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.FAILED_PRECONDITION,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    415: grpc.StatusCode.INVALID_ARGUMENT,
}


@dataclass
class RestSettings:
    public_url: str
    limit_param_default: int
    api_limit_max: int


def _metadata(ctx: Ctx) -> dict[str, str]:
    return {k: v for k, v in (ctx.invocation_metadata() or ()) if isinstance(v, str)}


def _json_body(body: HttpBody) -> object:
    if not body.data:
        raise BadRequest("Body expected in request.")
    try:
        return json.loads(body.data)
    except ValueError as exc:
        raise BadRequest("Malformed JSON in request body.") from exc


async def _abort(ctx: Ctx, error: ImageError) -> None:
    ctx.set_trailing_metadata((("x-http-status", str(error.http_status)),))
    await ctx.abort(GRPC_CODES.get(error.http_status, grpc.StatusCode.UNKNOWN), error.message)


class ImageRestServicer(image_rest_pb2_grpc.ImageRestServiceServicer):
    def __init__(self, images: Images, authenticate: Authenticator, settings: RestSettings) -> None:
        self.images = images
        self.authenticate = authenticate
        self.settings = settings

    # Plumbing shared by every method.

    async def _send_headers(self, ctx: Ctx, status: int = 200, *extra: tuple[str, str]) -> None:
        headers = [("x-openstack-request-id", request_context.current_request_id()), *extra]
        if status != 200:
            headers.insert(0, ("x-http-status", str(status)))
        await ctx.send_initial_metadata(headers)

    async def _run(
        self,
        ctx: Ctx,
        action: Callable[[Caller], Awaitable[T]],
    ) -> T | None:
        try:
            return await action(self.authenticate(_metadata(ctx)))
        except ImageError as error:
            await _abort(ctx, error)
            return None

    async def _json(
        self,
        ctx: Ctx,
        action: Callable[[Caller], Awaitable[object]],
        status: int = 200,
        location: Callable[[object], str] | None = None,
    ) -> HttpBody:
        doc = await self._run(ctx, action)
        extra = [("location", location(doc))] if location is not None else []
        await self._send_headers(ctx, status, *extra)
        return HttpBody(content_type=JSON, data=views.dumps(doc))

    async def _no_content(self, ctx: Ctx, action: Callable[[Caller], Awaitable[None]]) -> HttpBody:
        await self._run(ctx, action)
        await self._send_headers(ctx, 204)
        return HttpBody()

    # Versions, schemas, discovery.

    async def ListVersions(self, request: Request, context: Ctx) -> HttpBody:
        await self._send_headers(context, 300)
        return HttpBody(
            content_type=JSON, data=views.dumps(views.versions(self.settings.public_url))
        )

    async def GetVersions(self, request: Request, context: Ctx) -> HttpBody:
        await self._send_headers(context)
        return HttpBody(
            content_type=JSON, data=views.dumps(views.versions(self.settings.public_url))
        )

    async def GetSchema(self, request: Request, context: Ctx) -> HttpBody:
        disk, container = (
            self.images.settings.disk_formats,
            self.images.settings.container_formats,
        )
        docs: dict[str, Callable[[], dict[str, Any]]] = {
            "image": lambda: schemas.image_schema(disk, container),
            "images": lambda: schemas.images_schema(disk, container),
            "member": lambda: schemas.MEMBER_SCHEMA,
            "members": lambda: schemas.MEMBERS_SCHEMA,
        }
        make = docs.get(request.sub_id)
        if make is None:
            await _abort(context, NotFound(f"Schema {request.sub_id} not found"))
            raise AssertionError("unreachable")
        await self._send_headers(context)
        return HttpBody(content_type=JSON, data=views.dumps(make()))

    async def GetImportInfo(self, request: Request, context: Ctx) -> HttpBody:
        await self._send_headers(context)
        return HttpBody(content_type=JSON, data=views.dumps(views.import_info()))

    async def GetStoresInfo(self, request: Request, context: Ctx) -> HttpBody:
        await _abort(context, NotFound("Multi backend is not supported at this site."))
        raise AssertionError("unreachable")

    # Images.

    async def ListImages(self, request: Request, context: Ctx) -> HttpBody:
        path = _metadata(context).get("x-envoy-original-path", "")

        async def action(caller: Caller) -> object:
            params = query.parse(
                path, self.settings.limit_param_default, self.settings.api_limit_max
            )
            page, next_marker = await self.images.find(
                caller, params.query, params.marker, params.limit
            )
            return views.images(page, params.echo, next_marker)

        return await self._json(context, action)

    async def CreateImage(self, request: Request, context: Ctx) -> HttpBody:
        async def action(caller: Caller) -> object:
            return views.image(await self.images.create(caller, _json_body(request.body)))

        def location(doc: object) -> str:
            assert isinstance(doc, dict)
            return f"{self.settings.public_url.rstrip('/')}/v2/images/{doc['id']}"

        return await self._json(context, action, status=201, location=location)

    async def GetImage(self, request: Request, context: Ctx) -> HttpBody:
        async def action(caller: Caller) -> object:
            return views.image(await self.images.get(caller, request.image_id))

        return await self._json(context, action)

    async def UpdateImage(self, request: Request, context: Ctx) -> HttpBody:
        async def action(caller: Caller) -> object:
            changes = parse_patch(request.body.content_type, _json_body(request.body))
            return views.image(await self.images.update(caller, request.image_id, changes))

        return await self._json(context, action)

    async def DeleteImage(self, request: Request, context: Ctx) -> HttpBody:
        return await self._no_content(
            context, lambda caller: self.images.delete(caller, request.image_id)
        )

    # Data.

    async def UploadImageData(
        self, request_iterator: AsyncIterator[Request], context: Ctx
    ) -> HttpBody:
        first = await anext(aiter(request_iterator), None)
        if first is None:
            await _abort(context, BadRequest("Upload request carries no image id"))
            raise AssertionError("unreachable")

        async def chunks() -> AsyncIterator[bytes]:
            yield first.body.data
            async for message in request_iterator:
                yield message.body.data

        async def action(caller: Caller) -> None:
            await self.images.upload(caller, first.image_id, first.body.content_type, chunks())

        return await self._no_content(context, action)

    async def DownloadImageData(self, request: Request, context: Ctx) -> AsyncIterator[HttpBody]:
        found = await self._run(
            context, lambda caller: self.images.download(caller, request.image_id)
        )
        assert found is not None
        image, data = found
        if data is None:
            await self._send_headers(context, 204)
            return
        extra = [("content-md5", image.checksum)] if image.checksum else []
        await self._send_headers(context, 200, *extra)
        async for chunk in data:
            yield HttpBody(content_type="application/octet-stream", data=chunk)

    # Tags and actions.

    async def AddImageTag(self, request: Request, context: Ctx) -> HttpBody:
        return await self._no_content(
            context, lambda caller: self.images.add_tag(caller, request.image_id, request.sub_id)
        )

    async def DeleteImageTag(self, request: Request, context: Ctx) -> HttpBody:
        return await self._no_content(
            context,
            lambda caller: self.images.delete_tag(caller, request.image_id, request.sub_id),
        )

    async def DeactivateImage(self, request: Request, context: Ctx) -> HttpBody:
        return await self._no_content(
            context, lambda caller: self.images.deactivate(caller, request.image_id)
        )

    async def ReactivateImage(self, request: Request, context: Ctx) -> HttpBody:
        return await self._no_content(
            context, lambda caller: self.images.reactivate(caller, request.image_id)
        )

    # Members.

    async def ListImageMembers(self, request: Request, context: Ctx) -> HttpBody:
        async def action(caller: Caller) -> object:
            return views.members(await self.images.members(caller, request.image_id))

        return await self._json(context, action)

    async def CreateImageMember(self, request: Request, context: Ctx) -> HttpBody:
        async def action(caller: Caller) -> object:
            body = _json_body(request.body)
            return views.member(await self.images.add_member(caller, request.image_id, body))

        return await self._json(context, action)

    async def GetImageMember(self, request: Request, context: Ctx) -> HttpBody:
        async def action(caller: Caller) -> object:
            found = await self.images.member(caller, request.image_id, request.sub_id)
            return views.member(found)

        return await self._json(context, action)

    async def UpdateImageMember(self, request: Request, context: Ctx) -> HttpBody:
        async def action(caller: Caller) -> object:
            body = _json_body(request.body)
            updated = await self.images.update_member(
                caller, request.image_id, request.sub_id, body
            )
            return views.member(updated)

        return await self._json(context, action)

    async def DeleteImageMember(self, request: Request, context: Ctx) -> HttpBody:
        return await self._no_content(
            context,
            lambda caller: self.images.delete_member(caller, request.image_id, request.sub_id),
        )
