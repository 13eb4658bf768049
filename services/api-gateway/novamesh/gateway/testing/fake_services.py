"""A fake CellsServicesService for gateway tests: the services a test puts in `services`."""

from __future__ import annotations

from typing import Any

import grpc
from novamesh.cells.v1 import services_pb2, services_pb2_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]


class FakeServices(services_pb2_grpc.CellsServicesServiceServicer):
    def __init__(self) -> None:
        self.services: list[services_pb2.ComputeService] = []

    async def ListServices(
        self, request: services_pb2.ListServicesRequest, context: Ctx
    ) -> services_pb2.ListServicesResponse:
        found = [
            s for s in self.services
            if request.binary in ("", s.binary) and request.host in ("", s.host)
        ]  # fmt: skip
        return services_pb2.ListServicesResponse(services=found)

    def _find(self, ref: services_pb2.ServiceRef) -> services_pb2.ComputeService | None:
        for svc in self.services:
            by = ref.WhichOneof("by")
            if (by == "uuid" and svc.uuid == ref.uuid) or (
                by == "host_binary"
                and (svc.host, svc.binary) == (ref.host_binary.host, ref.host_binary.binary)
            ):
                return svc
        return None

    async def UpdateService(
        self, request: services_pb2.UpdateServiceRequest, context: Ctx
    ) -> services_pb2.ComputeService:
        svc = self._find(request.service)
        if svc is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such service")
            raise AssertionError("unreachable")
        if request.HasField("disabled"):
            svc.disabled = request.disabled
            if not request.disabled:
                svc.disabled_reason = ""
        if request.HasField("disabled_reason"):
            svc.disabled_reason = request.disabled_reason
        if request.HasField("forced_down"):
            svc.forced_down = request.forced_down
        return svc

    async def DeleteService(
        self, request: services_pb2.DeleteServiceRequest, context: Ctx
    ) -> services_pb2.DeleteServiceResponse:
        svc = self._find(request.service)
        if svc is not None:
            self.services.remove(svc)
        return services_pb2.DeleteServiceResponse()
