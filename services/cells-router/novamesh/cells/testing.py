"""A router on free ports with fake neighbours, for tests (here and in other services).

`start_mesh(state_dir)` migrates throwaway SQLite databases (API, cell0, cell1 [, cell2 ...]),
starts fake scheduler and placement gRPC servers and the real router, and returns a `Mesh`;
`FakeAgent` connects to the router like a compute agent and answers commands as told.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid as uuidlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from novamesh.agent.v1 import agent_pb2
from novamesh.cells.app import RouterApp
from novamesh.cells.v1 import router_pb2, router_pb2_grpc, services_pb2, services_pb2_grpc
from novamesh.common import grpcutil
from novamesh.common.apidb.models import BuildRequest, InstanceMapping, RequestSpec
from novamesh.common.config import Config
from novamesh.common.db import create_sync_engine
from novamesh.manage import cells as manage_cells
from novamesh.manage import dbsync
from novamesh.placement.v1 import placement_pb2, placement_pb2_grpc
from novamesh.scheduler.v1 import request_spec_pb2, scheduler_pb2, scheduler_pb2_grpc
from sqlalchemy.orm import Session

NODE_NAMESPACE = uuidlib.UUID("4d1f0e9a-2f55-4c36-9a51-7f6f3b1f2a10")


def node_uuid(host: str) -> str:
    return str(uuidlib.uuid5(NODE_NAMESPACE, host))


class FakePlacement(placement_pb2_grpc.PlacementServiceServicer):
    """The two PlacementService calls the router makes."""

    def __init__(self) -> None:
        # consumer -> provider uuids it holds allocations against
        self.allocations: dict[str, set[str]] = {}
        self.refuse: set[str] = set()

    def claim(self, consumer: str, providers: set[str]) -> None:
        self.allocations[consumer] = set(providers)

    async def ClaimAllocations(
        self, request: placement_pb2.ClaimAllocationsRequest, context: Any
    ) -> placement_pb2.ClaimAllocationsResponse:
        providers = set(request.allocations)
        if providers & self.refuse:
            await context.abort(grpc.StatusCode.ABORTED, "not enough capacity")
        self.claim(request.consumer_uuid, providers)
        return placement_pb2.ClaimAllocationsResponse(consumer_generation=1)

    async def GetAllocations(
        self, request: placement_pb2.GetAllocationsRequest, context: Any
    ) -> placement_pb2.ConsumerAllocations:
        held = self.allocations.get(request.consumer_uuid)
        if held is None:
            return placement_pb2.ConsumerAllocations(consumer_generation=-1)
        one = placement_pb2.ProviderAllocation(resources={"VCPU": 1, "MEMORY_MB": 512})
        return placement_pb2.ConsumerAllocations(
            allocations={rp: one for rp in held}, consumer_generation=1
        )

    async def DeleteAllocations(
        self, request: placement_pb2.DeleteAllocationsRequest, context: Any
    ) -> placement_pb2.DeleteAllocationsResponse:
        self.allocations.pop(request.consumer_uuid, None)
        return placement_pb2.DeleteAllocationsResponse()


@dataclass
class FakeScheduler(scheduler_pb2_grpc.SchedulerServiceServicer):
    """Picks hosts in the order given, claiming the first one like the real scheduler."""

    placement: FakePlacement
    # (host, cell uuid), in preference order
    hosts: list[tuple[str, str]] = field(default_factory=list)
    no_valid_host: str | None = None
    delay: float = 0.0
    calls: list[scheduler_pb2.SelectDestinationsRequest] = field(default_factory=list)

    async def SelectDestinations(
        self, request: scheduler_pb2.SelectDestinationsRequest, context: Any
    ) -> scheduler_pb2.SelectDestinationsResponse:
        self.calls.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.no_valid_host is not None:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, self.no_valid_host)
        results = []
        for uuid in request.instance_uuids:
            selections = [
                scheduler_pb2.Selection(
                    host=host,
                    nodename=host,
                    compute_node_uuid=node_uuid(host),
                    cell_uuid=cell_uuid,
                    allocation=placement_pb2.AllocationRequest(
                        allocations={
                            node_uuid(host): placement_pb2.ProviderAllocation(
                                resources={"VCPU": 1, "MEMORY_MB": 512}
                            )
                        }
                    ),
                )
                for host, cell_uuid in self.hosts
            ]
            if selections:
                self.placement.claim(uuid, {selections[0].compute_node_uuid})
            results.append(
                scheduler_pb2.InstanceSelections(instance_uuid=uuid, selections=selections)
            )
        return scheduler_pb2.SelectDestinationsResponse(results=results)


def _now() -> Timestamp:
    out = Timestamp()
    out.GetCurrentTime()
    return out


class FakeAgent:
    """A compute agent: registers its hosts, then answers commands per host.

    behaviour[host]: "ok" (build succeeds, the instance goes ACTIVE), "retry" (fails, another
    host could succeed), "fail" (fails for good), "hang" (never answers a build).
    """

    def __init__(self, target: str, hosts: list[str], agent_id: str = "", cell: str = "") -> None:
        self.target = target
        self.hosts = hosts
        # The cell the agent says it belongs to (empty: the router's own).
        self.cell = cell
        self.agent_id = agent_id or "agent-" + "-".join(hosts)
        self.behaviour: dict[str, str] = {h: "ok" for h in hosts}
        self.commands: list[agent_pb2.AgentCommand] = []
        self.registered = asyncio.Event()
        self.cell_uuid = ""
        self._outbox: asyncio.Queue[agent_pb2.AgentMessage | None] = asyncio.Queue()
        self._channel: grpc.aio.Channel | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._channel = grpcutil.channel(self.target)
        stub = router_pb2_grpc.CellsRouterServiceStub(self._channel)
        register = agent_pb2.Register(
            hosts=[
                agent_pb2.HostResources(
                    host=h,
                    nodename=h,
                    compute_node_uuid=node_uuid(h),
                    hypervisor_type="fake",
                    vcpus=16,
                    memory_mb=32768,
                    local_gb=500,
                    cpu_allocation_ratio=4.0,
                    ram_allocation_ratio=1.0,
                    disk_allocation_ratio=1.0,
                    availability_zone="nova",
                )
                for h in self.hosts
            ],
            driver="fake",
            version="test",
        )
        await self._outbox.put(agent_pb2.AgentMessage(agent_id=self.agent_id, register=register))
        metadata = (("x-novamesh-cell", self.cell),) if self.cell else None
        call = stub.Connect(self._messages(), metadata=metadata)
        self._task = asyncio.create_task(self._commands(call))
        await asyncio.wait_for(self.registered.wait(), 10)

    async def _messages(self) -> AsyncIterator[agent_pb2.AgentMessage]:
        while True:
            msg = await self._outbox.get()
            if msg is None:
                return
            yield msg

    def send(self, **body: Any) -> None:
        self._outbox.put_nowait(agent_pb2.AgentMessage(agent_id=self.agent_id, **body))

    def heartbeat(self) -> None:
        self.send(heartbeat=agent_pb2.Heartbeat(at=_now()))

    async def _commands(self, call: Any) -> None:
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
            async for command in call:
                self.commands.append(command)
                self._answer(command)

    def _answer(self, command: agent_pb2.AgentCommand) -> None:
        body = command.WhichOneof("body")
        if body == "registered":
            self.cell_uuid = command.registered.cell_uuid
            self.registered.set()
            return
        if body == "build":
            uuid = command.build.instance.uuid
            mode = self.behaviour.get(command.host, "ok")
            if mode == "hang":
                return
            if mode == "ok":
                self.send(
                    instance_update=agent_pb2.InstanceUpdate(
                        instance_uuid=uuid,
                        host=command.host,
                        vm_state="active",
                        task_state="",
                        power_state=1,
                        launched_at=_now(),
                        event="compute__do_build_and_run_instance",
                        event_result="Success",
                        interfaces=[
                            agent_pb2.NetworkInterface(
                                network="private", address="10.0.0.5", version=4
                            )
                        ],
                    )
                )
            self.send(
                result=agent_pb2.CommandResult(
                    command_id=command.command_id,
                    instance_uuid=uuid,
                    ok=mode == "ok",
                    error="" if mode == "ok" else f"spawn failed on {command.host}",
                    retryable=mode == "retry",
                )
            )
            return
        uuid = (
            command.terminate.instance_uuid if body == "terminate" else command.power.instance_uuid
        )
        done = agent_pb2.CommandResult(command_id=command.command_id, instance_uuid=uuid, ok=True)
        self.send(result=done)

    def built(self) -> list[str]:
        return [c.build.instance.uuid for c in self.commands if c.WhichOneof("body") == "build"]

    def terminated(self) -> list[str]:
        return [
            c.terminate.instance_uuid for c in self.commands if c.WhichOneof("body") == "terminate"
        ]

    async def stop(self) -> None:
        self._outbox.put_nowait(None)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._channel is not None:
            await self._channel.close(None)


@dataclass
class Mesh:
    cfg: Config
    app: RouterApp
    router: router_pb2_grpc.CellsRouterServiceAsyncStub
    target: str
    services: services_pb2_grpc.CellsServicesServiceAsyncStub
    scheduler: FakeScheduler
    placement: FakePlacement
    cells: dict[str, str]
    _servers: list[grpc.aio.Server]
    _channel: grpc.aio.Channel
    _agents: list[FakeAgent] = field(default_factory=list)

    async def agent(self, hosts: list[str], cell: str = "") -> FakeAgent:
        agent = FakeAgent(self.target, hosts, cell=cell)
        await agent.start()
        self._agents.append(agent)
        return agent

    def submit_records(
        self, project_id: str = "p1", user_id: str = "u1", name: str = "vm", count: int = 1
    ) -> list[router_pb2.Instance]:
        """What the gateway writes before BuildInstances: build request, spec, mapping."""
        instances = []
        engine = create_sync_engine(self.cfg.expand(self.cfg.database.api_url))
        with Session(engine) as s, s.begin():
            for i in range(count):
                inst = router_pb2.Instance(
                    uuid=str(uuidlib.uuid4()),
                    name=name if count == 1 else f"{name}-{i + 1}",
                    project_id=project_id,
                    user_id=user_id,
                    vm_state="building",
                    flavor=request_spec_pb2.Flavor(id="1", name="m1.tiny", vcpus=1, memory_mb=512),
                    image_ref="img-1",
                    metadata={"k": "v"},
                    launch_index=i,
                    created_at=_now(),
                )
                instances.append(inst)
                s.add(
                    BuildRequest(
                        instance_uuid=inst.uuid,
                        project_id=project_id,
                        instance=inst.SerializeToString(),
                        tags=[],
                    )
                )
                s.add(RequestSpec(instance_uuid=inst.uuid, spec=b""))
                s.add(
                    InstanceMapping(instance_uuid=inst.uuid, project_id=project_id, user_id=user_id)
                )
        engine.dispose()
        return instances

    async def boot(self, **kw: Any) -> list[router_pb2.Instance]:
        instances = self.submit_records(**kw)
        await self.router.BuildInstances(
            router_pb2.BuildInstancesRequest(
                spec=request_spec_pb2.RequestSpec(project_id=instances[0].project_id),
                instances=instances,
                admin_passwords={i.uuid: "secret" for i in instances},
            )
        )
        return instances

    async def wait_for(
        self,
        uuid: str,
        vm_state: str,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> router_pb2.Instance:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                inst = await self.router.GetInstance(router_pb2.GetInstanceRequest(uuid=uuid))
                if inst.vm_state == vm_state and not inst.task_state:
                    return inst
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND or vm_state != "gone":
                    raise
                return router_pb2.Instance(uuid=uuid)
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{uuid} stayed {inst.vm_state}/{inst.task_state}")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        for agent in self._agents:
            await agent.stop()
        await self.app.core.idle()
        await self._channel.close(None)
        for server in self._servers:
            await server.stop(None)
        await self.app.stop()


async def start_mesh(
    state_dir: Path,
    cell_names: tuple[str, ...] = ("cell1",),
    heartbeat: float = 5.0,
    redis_url: str = "",
) -> Mesh:
    cfg = Config(state_dir=str(state_dir))
    cfg.redis.url = redis_url
    cfg.telemetry.enabled = False
    cfg.agent.heartbeat_interval = heartbeat
    cfg.cells.cell = cell_names[0]
    cfg.cells.list_timeout = 2.0
    placement = FakePlacement()  # type: ignore[abstract]
    scheduler = FakeScheduler(placement)
    servers = []
    fakes: list[tuple[Any, Any]] = [
        (scheduler_pb2_grpc.add_SchedulerServiceServicer_to_server, scheduler),
        (placement_pb2_grpc.add_PlacementServiceServicer_to_server, placement),
    ]
    ports = []
    for register, servicer in fakes:
        server = grpc.aio.server()
        register(servicer, server)
        ports.append(server.add_insecure_port("127.0.0.1:0"))
        await server.start()
        servers.append(server)
    cfg.endpoints.scheduler = f"127.0.0.1:{ports[0]}"
    cfg.endpoints.placement = f"127.0.0.1:{ports[1]}"

    dbsync.sync_api(cfg, lambda _: None)
    manage_cells.map_cell0(cfg)
    cells = {"cell0": manage_cells.CELL0_UUID}
    for name in cell_names:
        cells[name] = manage_cells.create_cell(
            cfg, name, f"sqlite:///{state_dir}/{name}.db", f"grpc://{name}.invalid:1"
        )
    dbsync.sync_cells(cfg, lambda _: None)

    app = RouterApp.create(cfg, build_timeout=10.0)
    server, port, _ = grpcutil.create_server(
        "127.0.0.1:0",
        [
            lambda s: router_pb2_grpc.add_CellsRouterServiceServicer_to_server(app.servicer, s),
            lambda s: services_pb2_grpc.add_CellsServicesServiceServicer_to_server(app.services, s),
        ],
        [
            router_pb2.DESCRIPTOR.services_by_name["CellsRouterService"].full_name,
            services_pb2.DESCRIPTOR.services_by_name["CellsServicesService"].full_name,
        ],
    )
    await app.start()
    await server.start()
    servers.append(server)
    target = f"127.0.0.1:{port}"
    channel = grpcutil.channel(target)
    return Mesh(
        cfg=cfg,
        app=app,
        router=router_pb2_grpc.CellsRouterServiceStub(channel),  # type: ignore[arg-type]
        target=target,
        services=services_pb2_grpc.CellsServicesServiceStub(channel),  # type: ignore[arg-type]
        scheduler=scheduler,
        placement=placement,
        cells=cells,
        _servers=servers,
        _channel=channel,
    )


def utc(value: Timestamp) -> dt.datetime:
    return value.ToDatetime()
