"""One REST call: what Envoy handed over (metadata, path variables, raw body) and the reply.

`handle()` runs a handler with a negotiated microversion, an authenticated identity bound to the
request context (so it propagates to the router), and the parsed query string; it sends Nova's
headers as initial metadata on every outcome and maps API errors to gRPC status codes that the
edge renders as Nova fault bodies.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.api import httpbody_pb2
from novamesh.common import context as reqctx
from novamesh.common.config import Config
from novamesh.gateway.api import microversion
from novamesh.gateway.api.auth import Identity, authenticate
from novamesh.gateway.api.errors import ApiError
from novamesh.gateway.api.microversion import APIVersion
from novamesh.gateway.api.query import Query
from novamesh.gateway.api.validation import parse_body

LOG = logging.getLogger(__name__)

_REQUEST_ID_RE = re.compile(r"^req-[0-9a-f-]{36}$")

# The gRPC code whose default HTTP mapping at the edge is this status; other statuses also
# travel in trailing `x-http-status`.
_CODES: dict[int, grpc.StatusCode] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.FAILED_PRECONDITION,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    501: grpc.StatusCode.UNIMPLEMENTED,
    503: grpc.StatusCode.UNAVAILABLE,
    500: grpc.StatusCode.INTERNAL,
}
_DEFAULT_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.INTERNAL: 500,
}


def grpc_code(status: int) -> grpc.StatusCode:
    if status in _CODES:
        return _CODES[status]
    return grpc.StatusCode.INVALID_ARGUMENT if status < 500 else grpc.StatusCode.INTERNAL


@dataclass
class Call:
    version: APIVersion
    who: Identity
    request_id: str
    query: Query
    base_url: str
    path_id: str = ""
    sub_id: str = ""
    raw_body: bytes = b""

    def body(self) -> Any:
        return parse_body(self.raw_body)

    @property
    def versioned_url(self) -> str:
        return f"{self.base_url}/v2.1"


@dataclass
class Reply:
    body: Any = None
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[Call], Awaitable[Reply]]


def _metadata(ctx: grpc.aio.ServicerContext[Any, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in (ctx.invocation_metadata() or ()) if isinstance(v, str)}


def base_url(md: Mapping[str, str], default: str) -> str:
    """The compute endpoint as the client addressed it, so links point where it came from."""
    host = md.get("x-forwarded-host") or md.get("host")
    if not host:
        return default.rstrip("/")
    scheme = md.get("x-forwarded-proto") or default.split("://", 1)[0] or "http"
    return f"{scheme}://{host.split(',')[0].strip()}"


def _request_id(md: Mapping[str, str]) -> str:
    current = reqctx.current_request_id()
    if _REQUEST_ID_RE.match(current):
        return current
    inbound = md.get(reqctx.REQUEST_ID_HEADER, "")
    return inbound if _REQUEST_ID_RE.match(inbound) else reqctx.new_request_id()


class Rest:
    """Shared by every REST servicer: configuration and the call wrapper."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg

    async def handle(
        self,
        ctx: grpc.aio.ServicerContext[Any, Any],
        request: Any,
        handler: Handler,
        *,
        max_version: str | None = None,
        min_version: str | None = None,
        versioned: bool = True,
    ) -> httpbody_pb2.HttpBody:
        md = _metadata(ctx)
        request_id = _request_id(md)
        headers = [("x-openstack-request-id", request_id), ("x-compute-request-id", request_id)]
        token = None
        try:
            if versioned:
                version = microversion.negotiate(md)
                headers += microversion.response_headers(version)
            else:
                version = microversion.DEFAULT_VERSION
            if (max_version is not None and not version.at_most(max_version)) or (
                min_version is not None and not version.at_least(min_version)
            ):
                raise ApiError(f"API version {version} is not supported on this method.", 404)
            who = authenticate(self.cfg.auth, md)
            token = reqctx.bind(
                reqctx.RequestContext(request_id, who.user_id, who.project_id, who.roles)
            )
            call = Call(
                version=version,
                who=who,
                request_id=request_id,
                query=Query.from_path(md.get("x-envoy-original-path", "")),
                base_url=base_url(md, self.cfg.endpoints.compute_public_url),
                path_id=getattr(request, "id", ""),
                sub_id=getattr(request, "sub_id", ""),
                raw_body=request.body.data if request.HasField("body") else b"",
            )
            reply = await handler(call)
        except ApiError as exc:
            await self._abort(ctx, headers, exc.status, exc.message)
            raise AssertionError("unreachable") from exc
        except Exception:
            LOG.exception("unexpected error")
            await self._abort(
                ctx,
                headers,
                500,
                "Unexpected API Error. Please report this at the project's issue tracker "
                "and attach the Nova API log if possible.",
            )
            raise
        finally:
            if token is not None:
                reqctx.reset(token)
        await ctx.send_initial_metadata(
            [*headers, ("x-http-status", str(reply.status)), *reply.headers]
        )
        if reply.body is None:
            return httpbody_pb2.HttpBody(content_type="application/json", data=b"")
        return httpbody_pb2.HttpBody(
            content_type="application/json", data=json.dumps(reply.body).encode()
        )

    @staticmethod
    async def _abort(
        ctx: grpc.aio.ServicerContext[Any, Any],
        headers: list[tuple[str, str]],
        status: int,
        message: str,
    ) -> None:
        await ctx.send_initial_metadata(headers)
        code = grpc_code(status)
        if _DEFAULT_STATUS.get(code) != status:
            ctx.set_trailing_metadata([("x-http-status", str(status))])
        await ctx.abort(code, message)
