"""In-test gRPC servers standing in for the cells router and placement."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from novamesh.agent.v1 import agent_pb2
from novamesh.cells.v1 import router_pb2_grpc
from novamesh.common import grpcutil
from novamesh.placement.v1 import placement_pb2, placement_pb2_grpc


@dataclass
class Session:
    outgoing: asyncio.Queue[agent_pb2.AgentCommand | None] = field(default_factory=asyncio.Queue)
    metadata: dict[str, str] = field(default_factory=dict)


class FakeRouter(router_pb2_grpc.CellsRouterServiceServicer):  # type: ignore[misc]
    """Answers Register with Registered, records every message, sends queued commands."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[agent_pb2.AgentMessage] = asyncio.Queue()
        self.sessions: list[Session] = []
        self.session_started = asyncio.Event()

    async def Connect(  # type: ignore[override]
        self, request_iterator: AsyncIterator[agent_pb2.AgentMessage], context: Any
    ) -> AsyncIterator[agent_pb2.AgentCommand]:
        session = Session(metadata=dict(context.invocation_metadata()))
        self.sessions.append(session)
        self.session_started.set()
        reader = asyncio.create_task(self._read(request_iterator, session))
        try:
            while True:
                cmd = await session.outgoing.get()
                if cmd is None:
                    return
                yield cmd
        finally:
            reader.cancel()

    async def _read(
        self, messages: AsyncIterator[agent_pb2.AgentMessage], session: Session
    ) -> None:
        try:
            await self._consume(messages, session)
        finally:
            # Like the real router: the agent's half-close ends the channel.
            session.outgoing.put_nowait(None)

    async def _consume(
        self, messages: AsyncIterator[agent_pb2.AgentMessage], session: Session
    ) -> None:
        async for msg in messages:
            await self.received.put(msg)
            if msg.WhichOneof("body") == "register":
                session.outgoing.put_nowait(
                    agent_pb2.AgentCommand(
                        registered=agent_pb2.Registered(cell_uuid="cell-1-uuid", cell_name="cell1")
                    )
                )

    def send(self, cmd: agent_pb2.AgentCommand) -> None:
        self.sessions[-1].outgoing.put_nowait(cmd)

    async def next(self, body: str, wait: float = 5.0) -> agent_pb2.AgentMessage:
        """The next message with this body, skipping others."""
        async with asyncio.timeout(wait):
            while True:
                msg = await self.received.get()
                if msg.WhichOneof("body") == body:
                    return msg


class FakePlacement(placement_pb2_grpc.PlacementServiceServicer):  # type: ignore[misc]
    """Providers with generations; SetProviderTraits checks them like placement does."""

    def __init__(self) -> None:
        self.providers: dict[str, placement_pb2.ResourceProvider] = {}
        self.calls: list[str] = []
        self.fail_next = 0

    async def _maybe_fail(self, name: str, context: Any) -> None:
        self.calls.append(name)
        if self.fail_next:
            self.fail_next -= 1
            await context.abort(grpc.StatusCode.UNAVAILABLE, "placement is starting")

    async def EnsureProvider(self, request: Any, context: Any) -> placement_pb2.ResourceProvider:
        await self._maybe_fail("EnsureProvider", context)
        rp = self.providers.setdefault(
            request.uuid, placement_pb2.ResourceProvider(uuid=request.uuid, generation=0)
        )
        rp.name = request.name
        return rp

    async def SetInventories(self, request: Any, context: Any) -> placement_pb2.ResourceProvider:
        await self._maybe_fail("SetInventories", context)
        rp = self.providers[request.provider_uuid]
        if request.generation not in (-1, rp.generation):
            await context.abort(grpc.StatusCode.ABORTED, "generation conflict")
        rp.inventories.clear()
        for rc, inv in request.inventories.items():
            rp.inventories[rc].CopyFrom(inv)
        rp.generation += 1
        return rp

    async def SetProviderTraits(self, request: Any, context: Any) -> placement_pb2.ResourceProvider:
        await self._maybe_fail("SetProviderTraits", context)
        rp = self.providers[request.provider_uuid]
        if request.generation != rp.generation:
            await context.abort(grpc.StatusCode.ABORTED, "generation conflict")
        del rp.traits[:]
        rp.traits.extend(request.traits)
        rp.generation += 1
        return rp


@dataclass
class Served:
    servicer: Any
    server: grpc.aio.Server
    port: int

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


async def serve(servicer: Any, registrar: Any, port: int = 0) -> Served:
    server, bound, _ = grpcutil.create_server(
        f"127.0.0.1:{port}", [lambda s: registrar(servicer, s)], []
    )
    await server.start()
    return Served(servicer, server, bound)


async def serve_router(port: int = 0) -> Served:
    # Only the methods the agent calls are implemented (the rest answer UNIMPLEMENTED).
    router = FakeRouter()  # type: ignore[abstract]
    return await serve(router, router_pb2_grpc.add_CellsRouterServiceServicer_to_server, port)


@pytest.fixture
async def start_router() -> AsyncIterator[Callable[[int], Awaitable[Served]]]:
    """Start a fake router (on a given port, to simulate a restart); all stop at teardown."""
    started: list[Served] = []

    async def start(port: int = 0) -> Served:
        served = await serve_router(port)
        started.append(served)
        return served

    yield start
    for served in started:
        await served.server.stop(None)


@pytest.fixture
async def router(start_router: Callable[[int], Awaitable[Served]]) -> Served:
    return await start_router(0)


@pytest.fixture
async def placement() -> AsyncIterator[Served]:
    fake = FakePlacement()  # type: ignore[abstract]
    served = await serve(fake, placement_pb2_grpc.add_PlacementServiceServicer_to_server)
    yield served
    await served.server.stop(None)
