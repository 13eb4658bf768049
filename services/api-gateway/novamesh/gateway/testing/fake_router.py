"""An in-memory CellsRouterService: enough router for the gateway's tests.

Builds land in memory (optionally completing at once on a fake host), actions apply the
compare-and-swap the real router promises and then complete, and a switch makes
BuildInstances fail to exercise the gateway's undo path.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf import timestamp_pb2
from novamesh.agent.v1 import agent_pb2
from novamesh.cells.v1 import router_pb2, router_pb2_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]

# What an accepted action's task leads to once the fake "hypervisor" is done.
_OUTCOME = {
    "start": ("active", 1),
    "stop": ("stopped", 4),
    "reboot": ("active", 1),
    "pause": ("paused", 3),
    "unpause": ("active", 1),
    "suspend": ("suspended", 7),
    "resume": ("active", 1),
    "rescue": ("rescued", 1),
    "unrescue": ("active", 1),
    "changePassword": ("active", 1),
    "softDelete": ("soft-delete", 4),
    "restore": ("active", 1),
    "createImage": ("active", 1),
    "createBackup": ("active", 1),
    "shelve": ("shelved", 4),
    "shelveOffload": ("shelved_offloaded", 0),
    "unshelve": ("active", 1),
}


def _now() -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.GetCurrentTime()
    return ts


class FakeRouter(router_pb2_grpc.CellsRouterServiceServicer):
    def __init__(self) -> None:
        self.instances: dict[str, router_pb2.Instance] = {}
        self.fail_build: grpc.StatusCode | None = None
        # Complete builds at once (ACTIVE on fake-host-1) instead of staying in BUILD.
        self.complete_builds = True
        # Complete actions at once instead of leaving the task state set.
        self.complete_actions = True
        self.builds: list[router_pb2.BuildInstancesRequest] = []
        self.calls: list[str] = []
        self.metadata: list[dict[str, str]] = []
        self._watchers: list[asyncio.Queue[router_pb2.InstanceEvent]] = []

    def _seen(self, name: str, context: Ctx) -> None:
        self.calls.append(name)
        self.metadata.append(
            {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        )

    def _publish(self, kind: int, inst: router_pb2.Instance) -> None:
        for queue in self._watchers:
            queue.put_nowait(router_pb2.InstanceEvent(kind=kind, instance=inst))  # type: ignore[arg-type]

    async def BuildInstances(
        self, request: router_pb2.BuildInstancesRequest, context: Ctx
    ) -> router_pb2.BuildInstancesResponse:
        self._seen("BuildInstances", context)
        if self.fail_build is not None:
            await context.abort(self.fail_build, "router says no")
        self.builds.append(request)
        for inst in request.instances:
            stored = router_pb2.Instance()
            stored.CopyFrom(inst)
            if self.complete_builds:
                stored.vm_state, stored.task_state, stored.power_state = "active", "", 1
                stored.host, stored.node = "fake-host-1", "fake-node-1"
                stored.availability_zone = stored.availability_zone or "nova"
                stored.launched_at.CopyFrom(_now())
                stored.interfaces.append(
                    agent_pb2.NetworkInterface(
                        network="private",
                        address=f"192.168.0.{len(self.instances) + 2}",
                        version=4,
                        mac_address="fa:16:3e:00:00:01",
                    )
                )
            self.instances[stored.uuid] = stored
            self._publish(router_pb2.InstanceEvent.KIND_UPDATED, stored)
        return router_pb2.BuildInstancesResponse()

    async def GetInstance(
        self, request: router_pb2.GetInstanceRequest, context: Ctx
    ) -> router_pb2.Instance:
        self._seen("GetInstance", context)
        inst = self.instances.get(request.uuid)
        if inst is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"Instance {request.uuid} not found")
        return inst

    async def ListInstances(
        self, request: router_pb2.ListInstancesRequest, context: Ctx
    ) -> router_pb2.ListInstancesResponse:
        self._seen("ListInstances", context)
        found = [i for i in self.instances.values() if request.include_deleted or not i.deleted]
        for key, value in request.filters.items():
            found = [i for i in found if _field(i, key) == value]
        if request.name:
            found = [i for i in found if re.search(request.name, i.name)]
        if request.vm_states:
            found = [i for i in found if i.vm_state in request.vm_states]
        if request.task_states:
            found = [i for i in found if i.task_state in request.task_states]
        found.sort(key=lambda i: (i.created_at.ToNanoseconds(), i.uuid), reverse=True)
        if request.marker:
            ids = [i.uuid for i in found]
            if request.marker not in ids:
                await context.abort(grpc.StatusCode.NOT_FOUND, "marker not found")
            found = found[ids.index(request.marker) + 1 :]
        if request.limit:
            found = found[: request.limit]
        return router_pb2.ListInstancesResponse(instances=found)

    async def DeleteInstance(
        self, request: router_pb2.DeleteInstanceRequest, context: Ctx
    ) -> router_pb2.DeleteInstanceResponse:
        self._seen("DeleteInstance", context)
        inst = self.instances.pop(request.uuid, None)
        if inst is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"Instance {request.uuid} not found")
        self._publish(router_pb2.InstanceEvent.KIND_DELETED, inst)
        return router_pb2.DeleteInstanceResponse()

    async def InstanceAction(
        self, request: router_pb2.InstanceActionRequest, context: Ctx
    ) -> router_pb2.Instance:
        self._seen("InstanceAction", context)
        inst = self.instances.get(request.uuid)
        if inst is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"Instance {request.uuid} not found")
        if (request.expected_vm_states and inst.vm_state not in request.expected_vm_states) or (
            request.expected_task_states and inst.task_state not in request.expected_task_states
        ):
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "state changed")
        if request.action == "lock":
            inst.locked, inst.locked_reason = True, request.params.get("locked_reason", "")
        elif request.action == "unlock":
            inst.locked, inst.locked_reason = False, ""
        else:
            inst.task_state = request.task_state
            if self.complete_actions and request.action in _OUTCOME:
                inst.vm_state, inst.power_state = _OUTCOME[request.action]
                inst.task_state = ""
        inst.updated_at.CopyFrom(_now())
        self._publish(router_pb2.InstanceEvent.KIND_UPDATED, inst)
        return inst

    async def UpdateInstance(
        self, request: router_pb2.UpdateInstanceRequest, context: Ctx
    ) -> router_pb2.Instance:
        self._seen("UpdateInstance", context)
        inst = self.instances.get(request.uuid)
        if inst is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"Instance {request.uuid} not found")
        for name in request.update_mask:
            if name == "system_metadata":
                inst.system_metadata.update(request.instance.system_metadata)
                for key, value in request.instance.system_metadata.items():
                    if not value:
                        del inst.system_metadata[key]
            elif name == "metadata":
                inst.metadata.clear()
                inst.metadata.update(request.instance.metadata)
            elif name == "tags":
                inst.ClearField("tags")
                inst.tags.extend(request.instance.tags)
            else:
                setattr(inst, name, getattr(request.instance, name))
        inst.updated_at.CopyFrom(_now())
        return inst

    async def WatchInstances(
        self, request: router_pb2.WatchInstancesRequest, context: Ctx
    ) -> AsyncIterator[router_pb2.InstanceEvent]:
        queue: asyncio.Queue[router_pb2.InstanceEvent] = asyncio.Queue()
        self._watchers.append(queue)
        try:
            while True:
                event = await queue.get()
                inst = event.instance
                if request.project_id and inst.project_id != request.project_id:
                    continue
                if request.instance_uuid and inst.uuid != request.instance_uuid:
                    continue
                yield event
        finally:
            self._watchers.remove(queue)

    async def WatchHostStates(
        self, request: router_pb2.WatchHostStatesRequest, context: Ctx
    ) -> AsyncIterator[router_pb2.HostStateUpdate]:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not in the fake")
        yield router_pb2.HostStateUpdate()

    def Connect(self, request_iterator: Any, context: Ctx) -> Any:
        raise NotImplementedError


def _field(inst: router_pb2.Instance, key: str) -> str:
    if key == "flavor_id":
        return inst.flavor.id
    value = getattr(inst, key, None)
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)
