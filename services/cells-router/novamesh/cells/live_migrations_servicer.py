"""CellsLiveMigrationService: force_complete and abort of a server's live migration."""

from __future__ import annotations

from typing import Any

import grpc
from novamesh.cells.live_migrations import LiveControl
from novamesh.cells.servicer import _answer
from novamesh.cells.v1 import live_migrations_pb2 as pb
from novamesh.cells.v1 import live_migrations_pb2_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]


class LiveMigrationsServicer(live_migrations_pb2_grpc.CellsLiveMigrationServiceServicer):
    def __init__(self, control: LiveControl) -> None:
        self._control = control

    async def ForceCompleteLiveMigration(
        self, request: pb.LiveMigrationRequest, context: Ctx
    ) -> pb.LiveMigrationResponse:
        status = await _answer(
            context, self._control.force_complete(request.instance_uuid, request.migration_id)
        )
        return pb.LiveMigrationResponse(status=status)

    async def AbortLiveMigration(
        self, request: pb.LiveMigrationRequest, context: Ctx
    ) -> pb.LiveMigrationResponse:
        status = await _answer(
            context,
            self._control.abort(request.instance_uuid, request.migration_id, request.allow_queued),
        )
        return pb.LiveMigrationResponse(status=status)


def registrar(control: LiveControl) -> Any:
    servicer = LiveMigrationsServicer(control)
    return lambda server: live_migrations_pb2_grpc.add_CellsLiveMigrationServiceServicer_to_server(
        servicer, server
    )


SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CellsLiveMigrationService"].full_name
