"""gRPC plumbing shared by every service: server factory, client channels, interceptors.

Servers are built by `create_server(...) -> (server, port)` and run by `serve(...)`, which adds
the health and reflection services and drains gracefully on SIGTERM. Interceptors give every
call a span (trace context in `traceparent` metadata) and a request context (request id and
caller identity in metadata), so logs and traces line up across hops.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from novamesh.common import context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

LOG = logging.getLogger(__name__)
_TRACER = trace.get_tracer("novamesh.grpc")

# Metadata keys that carry the caller's identity between services.
MD_REQUEST_ID = "x-openstack-request-id"
MD_USER = "x-novamesh-user-id"
MD_PROJECT = "x-novamesh-project-id"
MD_ROLES = "x-novamesh-roles"

GRPC_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
]


def _short_method(method: str) -> str:
    return method.rsplit(".", 1)[-1].replace("/", ".")


class ServerTelemetryInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc,type-arg]
    """Opens a SERVER span per call (child of the caller's) and binds the request context."""

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(details)
        if handler is None or details.method.startswith("/grpc."):
            return handler
        md = {k: v for k, v in (details.invocation_metadata or ()) if isinstance(v, str)}
        parent = propagate.extract(md)
        name = _short_method(details.method)
        req_ctx = context.RequestContext(
            request_id=md.get(MD_REQUEST_ID) or context.new_request_id(),
            user_id=md.get(MD_USER, ""),
            project_id=md.get(MD_PROJECT, ""),
            roles=tuple(r for r in md.get(MD_ROLES, "").split(",") if r),
        )

        def wrap_unary(behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            async def wrapper(request: Any, ctx: grpc.aio.ServicerContext[Any, Any]) -> Any:
                token = context.bind(req_ctx)
                try:
                    with _TRACER.start_as_current_span(
                        name, context=parent, kind=SpanKind.SERVER
                    ) as span:
                        span.set_attribute("rpc.method", details.method)
                        span.set_attribute("request_id", req_ctx.request_id)
                        try:
                            return await behavior(request, ctx)
                        finally:
                            code = ctx.code()
                            if code not in (None, grpc.StatusCode.OK, 0):
                                span.set_status(Status(StatusCode.ERROR, str(code)))
                finally:
                    context.reset(token)

            return wrapper

        def wrap_stream(behavior: Callable[..., AsyncIterator[Any]]) -> Callable[..., Any]:
            async def wrapper(
                request: Any, ctx: grpc.aio.ServicerContext[Any, Any]
            ) -> AsyncIterator[Any]:
                token = context.bind(req_ctx)
                try:
                    with _TRACER.start_as_current_span(name, context=parent, kind=SpanKind.SERVER):
                        async for item in behavior(request, ctx):
                            yield item
                finally:
                    context.reset(token)

            return wrapper

        kw = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(wrap_unary(handler.unary_unary), **kw)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(wrap_unary(handler.stream_unary), **kw)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(wrap_stream(handler.unary_stream), **kw)  # type: ignore[arg-type]
        if handler.stream_stream:
            return grpc.stream_stream_rpc_method_handler(wrap_stream(handler.stream_stream), **kw)  # type: ignore[arg-type]
        return handler


def outgoing_metadata(extra: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """Metadata for a call made now: trace context plus the current request context."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    md = list(carrier.items())
    ctx = context.current()
    if ctx is not None:
        md += [
            (MD_REQUEST_ID, ctx.request_id),
            (MD_USER, ctx.user_id),
            (MD_PROJECT, ctx.project_id),
            (MD_ROLES, ",".join(ctx.roles)),
        ]
    return md + list(extra)


def _merge(details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
    md = grpc.aio.Metadata(*(details.metadata or ()))
    present = {k for k, _ in md}
    for key, value in outgoing_metadata():
        if key not in present:
            md.add(key, value)
    return grpc.aio.ClientCallDetails(
        details.method, details.timeout, md, details.credentials, details.wait_for_ready
    )


class ClientUnaryTelemetry(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc,type-arg]
    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        with _TRACER.start_as_current_span(_short_method(method), kind=SpanKind.CLIENT) as span:
            call = await continuation(_merge(details), request)
            try:
                return await call
            except grpc.aio.AioRpcError as exc:
                span.set_status(Status(StatusCode.ERROR, exc.code().name))
                raise


class ClientStreamTelemetry(
    grpc.aio.UnaryStreamClientInterceptor,  # type: ignore[misc,type-arg]
    grpc.aio.StreamStreamClientInterceptor,  # type: ignore[misc,type-arg]
    grpc.aio.StreamUnaryClientInterceptor,  # type: ignore[misc,type-arg]
):
    """Streams only carry the context; long-lived streams get no span of their own."""

    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(_merge(details), request)

    async def intercept_stream_stream(
        self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails, it: Any
    ) -> Any:
        return await continuation(_merge(details), it)

    async def intercept_stream_unary(
        self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails, it: Any
    ) -> Any:
        return await continuation(_merge(details), it)


def channel(target: str) -> grpc.aio.Channel:
    """A client channel to another service, with telemetry and identity propagation."""
    return grpc.aio.insecure_channel(
        target,
        options=GRPC_OPTIONS,
        interceptors=cast(Any, [ClientUnaryTelemetry(), ClientStreamTelemetry()]),
    )


Registrar = Callable[[grpc.aio.Server], None]


def create_server(
    listen: str, registrars: Sequence[Registrar], service_names: Sequence[str]
) -> tuple[grpc.aio.Server, int, HealthServicer]:
    """Build a grpc.aio server with health and reflection; returns (server, bound port, health)."""
    server = grpc.aio.server(interceptors=[ServerTelemetryInterceptor()], options=GRPC_OPTIONS)
    for register in registrars:
        register(server)
    health_servicer = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [*service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name]
    reflection.enable_server_reflection([*names, reflection.SERVICE_NAME], server)
    port = server.add_insecure_port(listen)
    if port == 0:
        raise RuntimeError(f"cannot listen on {listen}")
    return server, port, health_servicer


async def serve(
    server: grpc.aio.Server,
    health_servicer: HealthServicer,
    service_names: Sequence[str],
    on_stop: Callable[[], Awaitable[None]] | None = None,
    grace: float = 10.0,
) -> None:
    """Start, mark SERVING, and on SIGTERM/SIGINT mark NOT_SERVING and drain within `grace`."""
    await server.start()
    for name in ("", *service_names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    LOG.info("draining")
    for name in ("", *service_names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    if on_stop is not None:
        await on_stop()
    await server.stop(grace)
    LOG.info("stopped")
