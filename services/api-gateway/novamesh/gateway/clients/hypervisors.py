"""The router's CellsHypervisorsService, with its status codes turned into API errors."""

from __future__ import annotations

import datetime as dt

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from novamesh.cells.v1 import hypervisors_pb2 as hv
from novamesh.cells.v1 import hypervisors_pb2_grpc
from novamesh.common import grpcutil
from novamesh.gateway.clients.router import api_error


def _ts(value: dt.datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


class HypervisorsClient:
    def __init__(self, target: str, timeout: float = 30.0) -> None:
        self._channel = grpcutil.channel(target)
        self._stub = hypervisors_pb2_grpc.CellsHypervisorsServiceStub(self._channel)
        self._timeout = timeout

    async def close(self) -> None:
        await self._channel.close(None)

    async def hypervisors(self, with_servers: bool) -> list[hv.Hypervisor]:
        request = hv.ListHypervisorsRequest(with_servers=with_servers)
        try:
            found = await self._stub.ListHypervisors(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc
        return list(found.hypervisors)

    async def usage_instances(
        self, start: dt.datetime, end: dt.datetime, project_id: str
    ) -> list[hv.UsageInstance]:
        request = hv.ListUsageInstancesRequest(
            start=_ts(start), end=_ts(end), project_id=project_id
        )
        try:
            found = await self._stub.ListUsageInstances(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc
        return list(found.instances)

    async def uptime(self, host: str) -> str:
        request = hv.GetHostUptimeRequest(host=host)
        try:
            found = await self._stub.GetHostUptime(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc
        return found.uptime
