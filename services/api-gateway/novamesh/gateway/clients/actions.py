"""The router's CellsActionsService (moves, console log, migration and action records), with
its status codes turned into API errors."""

from __future__ import annotations

import grpc
from novamesh.cells.v1 import actions_pb2, actions_pb2_grpc, router_pb2
from novamesh.common import grpcutil
from novamesh.gateway.clients.router import api_error

# One channel per router target for the process (the REST services share it).
_CLIENTS: dict[str, ActionsClient] = {}


def for_target(target: str) -> ActionsClient:
    client = _CLIENTS.get(target)
    if client is None:
        client = _CLIENTS[target] = ActionsClient(target)
    return client


class ActionsClient:
    def __init__(self, target: str, timeout: float = 30.0) -> None:
        self._channel = grpcutil.channel(target)
        self._stub = actions_pb2_grpc.CellsActionsServiceStub(self._channel)
        self._timeout = timeout

    async def close(self) -> None:
        await self._channel.close(None)

    async def move(self, request: actions_pb2.MoveInstanceRequest) -> router_pb2.Instance:
        try:
            return await self._stub.MoveInstance(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc

    async def rebuild(self, request: actions_pb2.RebuildInstanceRequest) -> router_pb2.Instance:
        try:
            return await self._stub.RebuildInstance(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc

    async def console_output(self, uuid: str, length: int) -> str:
        request = actions_pb2.GetConsoleOutputRequest(uuid=uuid, length=length)
        try:
            reply = await self._stub.GetConsoleOutput(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc
        return reply.output

    async def migrations(
        self, request: actions_pb2.ListMigrationsRequest
    ) -> list[actions_pb2.Migration]:
        try:
            reply = await self._stub.ListMigrations(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc
        return list(reply.migrations)

    async def instance_actions(
        self, request: actions_pb2.ListInstanceActionsRequest
    ) -> list[actions_pb2.InstanceActionRecord]:
        try:
            reply = await self._stub.ListInstanceActions(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc
        return list(reply.actions)

    async def instance_action(
        self, instance_uuid: str, request_id: str
    ) -> actions_pb2.InstanceActionRecord:
        request = actions_pb2.GetInstanceActionRequest(
            instance_uuid=instance_uuid, request_id=request_id
        )
        try:
            return await self._stub.GetInstanceAction(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc
