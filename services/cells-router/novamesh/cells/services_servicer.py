"""CellsServicesService: the os-services calls, translated to and from the router's Services."""

from __future__ import annotations

from typing import Any

import grpc
from novamesh.cells import convert
from novamesh.cells.core import Conflict, NotFound, Unavailable
from novamesh.cells.services import BadRef, Change, Ref, ServiceInfo, Services
from novamesh.cells.v1 import services_pb2, services_pb2_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]

_ERRORS: list[tuple[type[Exception], grpc.StatusCode]] = [
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (BadRef, grpc.StatusCode.INVALID_ARGUMENT),
    (Conflict, grpc.StatusCode.FAILED_PRECONDITION),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
]


def _ref(msg: services_pb2.ServiceRef) -> Ref:
    by = msg.WhichOneof("by")
    if by == "uuid":
        return Ref(uuid=msg.uuid)
    if by == "host_binary":
        return Ref(host=msg.host_binary.host, binary=msg.host_binary.binary)
    if by == "id":
        return Ref(id=msg.id)
    raise BadRef("a service must be named by uuid, host and binary, or id")


def _message(s: ServiceInfo) -> services_pb2.ComputeService:
    out = services_pb2.ComputeService(
        uuid=s.uuid,
        id=s.id,
        binary=s.binary,
        host=s.host,
        zone=s.zone,
        disabled=s.disabled,
        disabled_reason=s.disabled_reason or "",
        forced_down=s.forced_down,
        up=s.up,
        cell_uuid=s.cell_uuid,
        unreachable=s.unreachable,
    )
    updated = convert.ts(s.updated_at)
    if updated is not None:
        out.updated_at.CopyFrom(updated)
    return out


class ServicesServicer(services_pb2_grpc.CellsServicesServiceServicer):
    def __init__(self, services: Services) -> None:
        self._services = services

    async def _abort(self, context: Ctx, exc: Exception) -> None:
        code = next(c for e, c in _ERRORS if isinstance(exc, e))
        await context.abort(code, str(exc))

    async def ListServices(
        self, request: services_pb2.ListServicesRequest, context: Ctx
    ) -> services_pb2.ListServicesResponse:
        found, unreachable = await self._services.list_all(request.binary, request.host)
        return services_pb2.ListServicesResponse(
            services=[_message(s) for s in found], unreachable_cells=unreachable
        )

    async def UpdateService(
        self, request: services_pb2.UpdateServiceRequest, context: Ctx
    ) -> services_pb2.ComputeService:
        change = Change(
            disabled=request.disabled if request.HasField("disabled") else None,
            disabled_reason=request.disabled_reason or None,
            forced_down=request.forced_down if request.HasField("forced_down") else None,
            set_reason=request.HasField("disabled_reason"),
        )
        try:
            return _message(await self._services.update(_ref(request.service), change))
        except tuple(e for e, _ in _ERRORS) as exc:
            await self._abort(context, exc)
            raise

    async def DeleteService(
        self, request: services_pb2.DeleteServiceRequest, context: Ctx
    ) -> services_pb2.DeleteServiceResponse:
        try:
            await self._services.delete(_ref(request.service))
        except tuple(e for e, _ in _ERRORS) as exc:
            await self._abort(context, exc)
            raise
        return services_pb2.DeleteServiceResponse()
