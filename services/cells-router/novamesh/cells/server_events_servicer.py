"""CellsServerEventsService: the external events the API accepted, acted on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from novamesh.cells.core import Core
from novamesh.cells.devices import Devices
from novamesh.cells.server_events import ExternalEvent, ServerEvents
from novamesh.cells.servicer import _answer
from novamesh.cells.v1 import server_events_pb2 as pb
from novamesh.cells.v1 import server_events_pb2_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CellsServerEventsService"].full_name


class ServerEventsServicer(server_events_pb2_grpc.CellsServerEventsServiceServicer):
    def __init__(self, events: ServerEvents) -> None:
        self._events = events

    async def DeliverEvents(
        self, request: pb.DeliverEventsRequest, context: Ctx
    ) -> pb.DeliverEventsResponse:
        events = [
            ExternalEvent(e.server_uuid, e.name, e.status, e.tag, e.volume_size_gb)
            for e in request.events
        ]
        await _answer(context, self._events.deliver(events, request.request_id))
        return pb.DeliverEventsResponse()


def registrar(core: Core) -> Callable[[grpc.aio.Server], None]:
    servicer = ServerEventsServicer(ServerEvents(core, Devices(core)))
    return lambda server: server_events_pb2_grpc.add_CellsServerEventsServiceServicer_to_server(
        servicer, server
    )
