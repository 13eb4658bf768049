"""The cells router over gRPC, with its status codes turned into API errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence

import grpc
from novamesh.cells.v1 import router_pb2, router_pb2_grpc
from novamesh.common import grpcutil
from novamesh.gateway.api import errors
from novamesh.scheduler.v1 import request_spec_pb2

_ERRORS: dict[grpc.StatusCode, type[errors.ApiError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: errors.BadRequest,
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.PERMISSION_DENIED: errors.Forbidden,
    grpc.StatusCode.FAILED_PRECONDITION: errors.Conflict,
    grpc.StatusCode.ABORTED: errors.Conflict,
    grpc.StatusCode.ALREADY_EXISTS: errors.Conflict,
    grpc.StatusCode.UNIMPLEMENTED: errors.NotImplementedYet,
    grpc.StatusCode.UNAVAILABLE: errors.Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: errors.Unavailable,
}


def api_error(exc: grpc.aio.AioRpcError) -> errors.ApiError:
    cls = _ERRORS.get(exc.code(), errors.ApiError)
    return cls(exc.details() or exc.code().name)


class GrpcRouter:
    def __init__(self, target: str, timeout: float = 30.0) -> None:
        self._channel = grpcutil.channel(target)
        self._stub = router_pb2_grpc.CellsRouterServiceStub(self._channel)
        self._timeout = timeout

    async def close(self) -> None:
        await self._channel.close(None)

    async def build_instances(
        self,
        spec: request_spec_pb2.RequestSpec,
        instances: Sequence[router_pb2.Instance],
        admin_passwords: Mapping[str, str],
        request_id: str,
    ) -> None:
        request = router_pb2.BuildInstancesRequest(
            spec=spec,
            instances=list(instances),
            admin_passwords=dict(admin_passwords),
            request_id=request_id,
        )
        try:
            await self._stub.BuildInstances(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc

    async def get_instance(self, uuid: str) -> router_pb2.Instance:
        try:
            return await self._stub.GetInstance(
                router_pb2.GetInstanceRequest(uuid=uuid), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                raise errors.instance_not_found(uuid) from exc
            raise api_error(exc) from exc

    async def list_instances(
        self, request: router_pb2.ListInstancesRequest
    ) -> router_pb2.ListInstancesResponse:
        try:
            return await self._stub.ListInstances(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc

    async def delete_instance(self, uuid: str, request_id: str) -> None:
        try:
            await self._stub.DeleteInstance(
                router_pb2.DeleteInstanceRequest(uuid=uuid, request_id=request_id),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                raise errors.instance_not_found(uuid) from exc
            raise api_error(exc) from exc

    async def instance_action(
        self, request: router_pb2.InstanceActionRequest
    ) -> router_pb2.Instance:
        try:
            return await self._stub.InstanceAction(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc

    async def update_instance(
        self, request: router_pb2.UpdateInstanceRequest
    ) -> router_pb2.Instance:
        try:
            return await self._stub.UpdateInstance(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc

    async def watch_instances(
        self, project_id: str, instance_uuid: str
    ) -> AsyncIterator[router_pb2.InstanceEvent]:
        call = self._stub.WatchInstances(
            router_pb2.WatchInstancesRequest(project_id=project_id, instance_uuid=instance_uuid)
        )
        try:
            async for event in call:
                yield event
        except grpc.aio.AioRpcError as exc:
            raise api_error(exc) from exc
        finally:
            call.cancel()
