"""The router's CellsServerEventsService: the accepted external events, handed on."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from novamesh.cells.v1 import server_events_pb2 as pb
from novamesh.cells.v1 import server_events_pb2_grpc
from novamesh.common import grpcutil
from novamesh.gateway.clients.router import api_error
from novamesh.gateway.domain.server_events import Event


class GrpcServerEvents:
    def __init__(self, target: str, timeout: float = 30.0) -> None:
        self._channel = grpcutil.channel(target)
        self._stub = server_events_pb2_grpc.CellsServerEventsServiceStub(self._channel)
        self._timeout = timeout

    async def close(self) -> None:
        await self._channel.close(None)

    async def deliver(self, events: Sequence[Event], sizes: dict[str, int]) -> None:
        request = pb.DeliverEventsRequest(
            events=[
                pb.ServerEvent(
                    server_uuid=e.server_uuid,
                    name=e.name,
                    status=e.status,
                    tag=e.tag or "",
                    volume_size_gb=sizes.get(e.tag or "", 0),
                )
                for e in events
            ]
        )
        try:
            await self._stub.DeliverEvents(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc
