"""The router's CellsLiveMigrationService (force_complete and abort of a running live
migration), with its status codes turned into API errors."""

from __future__ import annotations

import grpc
from novamesh.cells.v1 import live_migrations_pb2 as pb
from novamesh.cells.v1 import live_migrations_pb2_grpc
from novamesh.common import grpcutil
from novamesh.gateway.clients.router import api_error

_CLIENTS: dict[str, LiveMigrationsClient] = {}


def for_target(target: str) -> LiveMigrationsClient:
    client = _CLIENTS.get(target)
    if client is None:
        client = _CLIENTS[target] = LiveMigrationsClient(target)
    return client


class LiveMigrationsClient:
    def __init__(self, target: str, timeout: float = 60.0) -> None:
        self._channel = grpcutil.channel(target)
        self._stub = live_migrations_pb2_grpc.CellsLiveMigrationServiceStub(self._channel)
        self._timeout = timeout

    async def force_complete(self, instance_uuid: str, migration_id: int) -> str:
        request = pb.LiveMigrationRequest(instance_uuid=instance_uuid, migration_id=migration_id)
        try:
            reply = await self._stub.ForceCompleteLiveMigration(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc
        return reply.status

    async def abort(self, instance_uuid: str, migration_id: int, allow_queued: bool) -> str:
        request = pb.LiveMigrationRequest(
            instance_uuid=instance_uuid, migration_id=migration_id, allow_queued=allow_queued
        )
        try:
            reply = await self._stub.AbortLiveMigration(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc
        return reply.status
