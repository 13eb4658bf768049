"""CellsHypervisorsService: compute nodes and usage instances, gathered across cells."""

from __future__ import annotations

from typing import Any

import grpc
from novamesh.cells.hypervisors import Hypervisors
from novamesh.cells.servicer import _answer
from novamesh.cells.v1 import hypervisors_pb2 as hv
from novamesh.cells.v1 import hypervisors_pb2_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]


class HypervisorsServicer(hypervisors_pb2_grpc.CellsHypervisorsServiceServicer):
    def __init__(self, hypervisors: Hypervisors) -> None:
        self._hypervisors = hypervisors

    async def ListHypervisors(
        self, request: hv.ListHypervisorsRequest, context: Ctx
    ) -> hv.ListHypervisorsResponse:
        return await self._hypervisors.list(request.with_servers)

    async def ListUsageInstances(
        self, request: hv.ListUsageInstancesRequest, context: Ctx
    ) -> hv.ListUsageInstancesResponse:
        return await self._hypervisors.usage(request)

    async def GetHostUptime(self, request: hv.GetHostUptimeRequest, context: Ctx) -> hv.HostUptime:
        return await _answer(context, self._hypervisors.uptime(request.host))
