"""What the domain needs from the cells router, as an interface (the gRPC adapter and the test
fakes implement it). Instances travel as `cells.v1` messages: they are the mesh's record type."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Protocol

from novamesh.cells.v1 import router_pb2
from novamesh.scheduler.v1 import request_spec_pb2


class Router(Protocol):
    async def build_instances(
        self,
        spec: request_spec_pb2.RequestSpec,
        instances: Sequence[router_pb2.Instance],
        admin_passwords: Mapping[str, str],
        request_id: str,
    ) -> None: ...

    async def get_instance(self, uuid: str) -> router_pb2.Instance: ...

    async def list_instances(
        self, request: router_pb2.ListInstancesRequest
    ) -> router_pb2.ListInstancesResponse: ...

    async def delete_instance(self, uuid: str, request_id: str) -> None: ...

    async def instance_action(
        self, request: router_pb2.InstanceActionRequest
    ) -> router_pb2.Instance: ...

    async def update_instance(
        self, request: router_pb2.UpdateInstanceRequest
    ) -> router_pb2.Instance: ...

    def watch_instances(
        self, project_id: str, instance_uuid: str
    ) -> AsyncIterator[router_pb2.InstanceEvent]: ...
