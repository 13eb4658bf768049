"""The scheduler as a gRPC service: fake router host feed and fake placement, real sockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from novamesh.agent.v1 import agent_pb2
from novamesh.cells.v1 import router_pb2, router_pb2_grpc
from novamesh.common import config as config_mod
from novamesh.common import grpcutil
from novamesh.placement.v1 import placement_pb2 as ppb
from novamesh.placement.v1 import placement_pb2_grpc as ppb_grpc
from novamesh.scheduler import main
from novamesh.scheduler.fakes import FakePlacement, FakeProvider
from novamesh.scheduler.resources import RequestGroup, ResourceRequest
from novamesh.scheduler.v1 import request_spec_pb2 as rpb
from novamesh.scheduler.v1 import scheduler_pb2 as spb
from novamesh.scheduler.v1 import scheduler_pb2_grpc as spb_grpc

CELL = "11111111-1111-4111-8111-111111111111"


def update(i: int, **kw: Any) -> router_pb2.HostStateUpdate:
    return router_pb2.HostStateUpdate(
        resources=agent_pb2.HostResources(
            host=f"h{i}",
            nodename=f"h{i}",
            compute_node_uuid=f"rp-{i}",
            hypervisor_type="QEMU",
            vcpus=8,
            memory_mb=8192,
            local_gb=100,
            cpu_allocation_ratio=1.0,
            ram_allocation_ratio=1.0,
            disk_allocation_ratio=1.0,
            availability_zone="nova",
        ),
        cell_uuid=CELL,
        service_up=True,
        **kw,
    )


class FakeRouter(router_pb2_grpc.CellsRouterServiceServicer):
    def __init__(self, snapshot: list[router_pb2.HostStateUpdate]) -> None:
        self.snapshot = snapshot
        self.changes: asyncio.Queue[router_pb2.HostStateUpdate] = asyncio.Queue()

    async def WatchHostStates(
        self, request: router_pb2.WatchHostStatesRequest, context: Any
    ) -> AsyncIterator[router_pb2.HostStateUpdate]:
        for item in self.snapshot:
            yield item
        while True:
            yield await self.changes.get()


class PlacementServicer(ppb_grpc.PlacementServiceServicer):
    def __init__(self, fake: FakePlacement) -> None:
        self.fake = fake

    async def GetAllocationCandidates(
        self, request: ppb.GetAllocationCandidatesRequest, context: Any
    ) -> ppb.AllocationCandidates:
        groups = [
            RequestGroup(
                suffix=g.suffix,
                resources=dict(g.resources),
                required_traits=set(g.required_traits),
                forbidden_traits=set(g.forbidden_traits),
                member_of=[list(a.values) for a in g.member_of],
                in_tree=g.in_tree,
            )
            for g in request.groups
        ]
        cands = await self.fake.candidates(ResourceRequest(groups, request.group_policy, 0))
        return ppb.AllocationCandidates(
            allocation_requests=[
                ppb.AllocationRequest(
                    allocations={
                        rp: ppb.ProviderAllocation(resources=r) for rp, r in c.allocations.items()
                    }
                )
                for c in cands
            ],
            provider_summaries={
                c.root_uuid: ppb.ProviderSummary(uuid=c.root_uuid, root_provider_uuid=c.root_uuid)
                for c in cands
            },
        )

    async def ClaimAllocations(
        self, request: ppb.ClaimAllocationsRequest, context: Any
    ) -> ppb.ClaimAllocationsResponse:
        assert request.consumer_generation == -1
        ok = await self.fake.claim(
            request.consumer_uuid,
            {rp: dict(a.resources) for rp, a in request.allocations.items()},
            request.project_id,
            request.user_id,
        )
        if not ok:
            await context.abort(grpc.StatusCode.ABORTED, "concurrent update")
        return ppb.ClaimAllocationsResponse(consumer_generation=1)

    async def DeleteAllocations(
        self, request: ppb.DeleteAllocationsRequest, context: Any
    ) -> ppb.DeleteAllocationsResponse:
        await self.fake.release(request.consumer_uuid)
        return ppb.DeleteAllocationsResponse()


@contextlib.asynccontextmanager
async def start_mesh(
    tmp_path: Path, hosts: int, placement_delay: float = 0.0
) -> AsyncIterator[tuple[spb_grpc.SchedulerServiceAsyncStub, FakeRouter, FakePlacement]]:
    fake = FakePlacement(delay=placement_delay)
    for i in range(hosts):
        fake.add(FakeProvider(f"rp-{i}", {"VCPU": 8, "MEMORY_MB": 8192, "DISK_GB": 100}))
    router = FakeRouter([update(i) for i in range(hosts)])  # type: ignore[abstract]
    deps, deps_port, _ = grpcutil.create_server("127.0.0.1:0", [], [])
    router_pb2_grpc.add_CellsRouterServiceServicer_to_server(router, deps)
    placement = PlacementServicer(fake)  # type: ignore[abstract]
    ppb_grpc.add_PlacementServiceServicer_to_server(placement, deps)
    await deps.start()
    cfg = config_mod.Config(state_dir=str(tmp_path))
    cfg.endpoints.router = cfg.endpoints.placement = f"127.0.0.1:{deps_port}"
    cfg.endpoints.scheduler = "127.0.0.1:0"
    spec = await main.build(cfg)
    server, port, _ = grpcutil.create_server(spec.listen, spec.registrars, spec.service_names)
    await server.start()
    assert spec.on_start is not None and spec.on_stop is not None
    await spec.on_start()
    channel = grpcutil.channel(f"127.0.0.1:{port}")
    try:
        feed: Any = spec.extra["feed"]
        await asyncio.wait_for(feed.connected.wait(), 5)
        store: Any = spec.extra["store"]
        for _ in range(500):
            if len(store) >= hosts:
                break
            await asyncio.sleep(0.01)
        yield spb_grpc.SchedulerServiceStub(channel), router, fake
    finally:
        await channel.close(None)
        await spec.on_stop()
        await server.stop(None)
        await deps.stop(None)


@pytest.fixture
async def mesh(
    tmp_path: Path,
) -> AsyncIterator[tuple[spb_grpc.SchedulerServiceAsyncStub, FakeRouter, FakePlacement]]:
    async with start_mesh(tmp_path, 3) as parts:
        yield parts


def request(*uuids: str, memory_mb: int = 1024) -> spb.SelectDestinationsRequest:
    return spb.SelectDestinationsRequest(
        spec=rpb.RequestSpec(
            project_id="p",
            user_id="u",
            flavor=rpb.Flavor(id="1", name="small", vcpus=1, memory_mb=memory_mb, root_gb=10),
            num_instances=len(uuids),
        ),
        instance_uuids=list(uuids),
        return_alternates=True,
    )


async def test_select_destinations_over_grpc(mesh: Any) -> None:
    stub, _, fake = mesh
    reply = await stub.SelectDestinations(request("i-1", "i-2"))
    assert [r.instance_uuid for r in reply.results] == ["i-1", "i-2"]
    first = reply.results[0].selections
    assert len(first) == 3
    assert first[0].cell_uuid == CELL
    assert first[0].host == first[0].nodename
    assert dict(first[0].allocation.allocations[first[0].compute_node_uuid].resources) == {
        "VCPU": 1,
        "MEMORY_MB": 1024,
        "DISK_GB": 10,
    }
    assert set(fake.consumers) == {"i-1", "i-2"}
    assert reply.results[0].selections[0].host != reply.results[1].selections[0].host


async def test_no_valid_host_is_resource_exhausted_with_the_reason(mesh: Any) -> None:
    stub, router, fake = mesh
    for i in range(3):
        await router.changes.put(update(i, service_disabled=True))
    for _ in range(100):
        await asyncio.sleep(0.01)
        try:
            await stub.SelectDestinations(request("i-3"))
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert exc.details() == (
                "No valid host was found. 3 candidates from placement; ComputeFilter removed 3"
            )
            break
        await fake.release("i-3")
    else:
        pytest.fail("the disabled hosts never reached the scheduler")


async def test_removed_host_leaves_the_view(mesh: Any) -> None:
    stub, router, fake = mesh
    for i in range(3):
        await router.changes.put(update(i, removed=True))
    for _ in range(100):
        await asyncio.sleep(0.01)
        try:
            await stub.SelectDestinations(request("i-4"))
        except grpc.aio.AioRpcError as exc:
            assert "3 unknown to the scheduler" in (exc.details() or "")
            return
        await fake.release("i-4")
    pytest.fail("removals never reached the scheduler")


async def test_empty_request_is_invalid(mesh: Any) -> None:
    stub, _, _ = mesh
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.SelectDestinations(spb.SelectDestinationsRequest())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_twenty_parallel_rpcs_into_one_anti_affinity_group(tmp_path: Path) -> None:
    async with start_mesh(tmp_path, 25, placement_delay=0.005) as (stub, _, fake):

        async def boot(i: int) -> str:
            req = request(f"member-{i}")
            req.spec.instance_group.CopyFrom(
                rpb.InstanceGroup(uuid="group-1", policy="anti-affinity")
            )
            reply = await stub.SelectDestinations(req)
            return str(reply.results[0].selections[0].host)

        hosts = await asyncio.gather(*(boot(i) for i in range(20)))
        assert len(set(hosts)) == 20
        assert len(fake.consumers) == 20
