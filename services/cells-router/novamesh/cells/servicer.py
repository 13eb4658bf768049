"""CellsRouterService: translates between the cells.v1 messages and the router's parts.

Errors become real gRPC codes: NotFound -> NOT_FOUND, bad input -> INVALID_ARGUMENT, a state
conflict -> FAILED_PRECONDITION, a cell or host that does not answer -> UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid as uuidlib
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import grpc
from novamesh.agent.v1 import agent_pb2
from novamesh.cells.agents import AgentSession
from novamesh.cells.channel import Channel
from novamesh.cells.conductor import Conductor
from novamesh.cells.core import Conflict, Core, NotFound, Unavailable
from novamesh.cells.db.queries import BadQuery, ListQuery, normalise_sort
from novamesh.cells.edits import Edits
from novamesh.cells.evacuated import EvacuatedGuests
from novamesh.cells.hoststates import HostStates
from novamesh.cells.lifecycle import Lifecycle
from novamesh.cells.reader import Reader
from novamesh.cells.registry import Cell, UnknownCell
from novamesh.cells.v1 import router_pb2, router_pb2_grpc

LOG = logging.getLogger(__name__)
T = TypeVar("T")

_ERRORS: list[tuple[type[BaseException], grpc.StatusCode]] = [
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (BadQuery, grpc.StatusCode.INVALID_ARGUMENT),
    (Conflict, grpc.StatusCode.FAILED_PRECONDITION),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
    (UnknownCell, grpc.StatusCode.UNAVAILABLE),
    (NotImplementedError, grpc.StatusCode.UNIMPLEMENTED),
]


async def _answer(context: grpc.aio.ServicerContext[Any, Any], work: Awaitable[T]) -> T:
    try:
        return await work
    except tuple(e for e, _ in _ERRORS) as exc:
        code = next(c for e, c in _ERRORS if isinstance(exc, e))
        await context.abort(code, str(exc))
        raise  # abort raises; this keeps type checkers satisfied


class RouterServicer(router_pb2_grpc.CellsRouterServiceServicer):
    def __init__(
        self,
        core: Core,
        channel: Channel,
        host_states: HostStates,
        conductor: Conductor,
        lifecycle: Lifecycle,
        reader: Reader,
        edits: Edits,
    ) -> None:
        self._core = core
        self._channel = channel
        self._host_states = host_states
        self._conductor = conductor
        self._lifecycle = lifecycle
        self._reader = reader
        self._edits = edits

    async def BuildInstances(
        self,
        request: router_pb2.BuildInstancesRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> router_pb2.BuildInstancesResponse:
        if not request.instances or any(not i.uuid for i in request.instances):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "every instance needs a uuid")
        try:
            _ = self._core.registry.cell0
        except UnknownCell:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                "cell0 is not mapped; run `novamesh-manage cell_v2 map_cell0`",
            )
        self._conductor.accept(request)
        return router_pb2.BuildInstancesResponse()

    async def GetInstance(
        self, request: router_pb2.GetInstanceRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> router_pb2.Instance:
        return await _answer(context, self._reader.get(request.uuid))

    async def ListInstances(
        self,
        request: router_pb2.ListInstancesRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> router_pb2.ListInstancesResponse:
        async def work() -> router_pb2.ListInstancesResponse:
            q = ListQuery(
                filters=dict(request.filters),
                name_regex=request.name,
                sort=normalise_sort([(s.key, s.dir) for s in request.sort]),
                limit=max(request.limit, 0),
                changes_since=(
                    request.changes_since.ToDatetime()
                    if request.HasField("changes_since")
                    else None
                ),
                changes_before=(
                    request.changes_before.ToDatetime()
                    if request.HasField("changes_before")
                    else None
                ),
                include_deleted=request.include_deleted,
                vm_states=list(request.vm_states),
                task_states=list(request.task_states),
                cell_down_support=request.cell_down_support,
            )
            instances, unreachable = await self._reader.list_page(q, request.marker)
            return router_pb2.ListInstancesResponse(
                instances=instances, unreachable_cells=unreachable
            )

        return await _answer(context, work())

    async def DeleteInstance(
        self,
        request: router_pb2.DeleteInstanceRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> router_pb2.DeleteInstanceResponse:
        await _answer(context, self._lifecycle.delete(request.uuid, request.request_id))
        return router_pb2.DeleteInstanceResponse()

    async def InstanceAction(
        self,
        request: router_pb2.InstanceActionRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> router_pb2.Instance:
        return await _answer(context, self._lifecycle.action(request))

    async def UpdateInstance(
        self,
        request: router_pb2.UpdateInstanceRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> router_pb2.Instance:
        return await _answer(context, self._edits.update(request))

    async def WatchInstances(
        self,
        request: router_pb2.WatchInstancesRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[router_pb2.InstanceEvent]:
        def wanted(event: router_pb2.InstanceEvent) -> bool:
            inst = event.instance
            if request.project_id and inst.project_id != request.project_id:
                return False
            return not (request.instance_uuid and inst.uuid != request.instance_uuid)

        async for event in self._core.instance_events.subscribe(wanted):
            yield event

    async def WatchHostStates(
        self,
        request: router_pb2.WatchHostStatesRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[router_pb2.HostStateUpdate]:
        # Subscribe first so that nothing changing during the snapshot is missed.
        changes = self._core.host_events.subscribe()
        for update in await self._host_states.snapshot():
            yield update
        async for update in changes:
            yield update

    async def Connect(
        self,
        request_iterator: AsyncIterator[agent_pb2.AgentMessage],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[agent_pb2.AgentCommand]:
        try:
            first = await anext(aiter(request_iterator))
        except StopAsyncIteration:
            return
        if first.WhichOneof("body") != "register":
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "the first message on a channel must be Register"
            )
        try:
            agent, cell = await self._channel.register(
                first.agent_id, first.register, _metadata(context, "x-novamesh-cell")
            )
        except UnknownCell as exc:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
            raise
        yield agent_pb2.AgentCommand(
            command_id=str(uuidlib.uuid4()),
            registered=agent_pb2.Registered(cell_uuid=cell.uuid, cell_name=cell.name),
        )
        # As Nova's init_host: guests evacuated away while the host was down must go.
        self._core.spawn(
            EvacuatedGuests(self._core).clean(cell, agent.hosts), f"evacuated {agent.agent_id}"
        )
        reader = asyncio.create_task(self._read(request_iterator, agent, cell))
        try:
            while True:
                command = await agent.outbox.get()
                if command is None:
                    break
                yield command
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            await self._channel.closed(agent, cell)

    async def _read(
        self,
        messages: AsyncIterator[agent_pb2.AgentMessage],
        agent: AgentSession,
        cell: Cell,
    ) -> None:
        try:
            async for msg in messages:
                try:
                    await self._channel.handle(agent, cell, msg)
                except Exception:
                    LOG.exception("cannot handle an agent message")
        except grpc.aio.AioRpcError as exc:
            LOG.info("agent channel ended: %s", exc.code().name)
        except asyncio.CancelledError:
            raise
        except Exception:
            LOG.exception("agent channel failed")
        finally:
            agent.close()


def _metadata(context: grpc.aio.ServicerContext[Any, Any], key: str) -> str:
    for k, v in context.invocation_metadata() or ():
        if k == key:
            return v if isinstance(v, str) else v.decode()
    return ""
