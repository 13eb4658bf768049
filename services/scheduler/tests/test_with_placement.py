"""The scheduler against the real placement service (its typed gRPC API over SQLite).

Two scheduler replicas with their own host views share one placement: their claims are what
keeps them from overcommitting a host.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from novamesh.common.config import SchedulerConfig
from novamesh.placement.v1 import placement_pb2 as ppb
from novamesh.scheduler.explain import NoValidHost
from novamesh.scheduler.fakes import host_report
from novamesh.scheduler.grpc_placement import GrpcPlacement
from novamesh.scheduler.host_state import HostStateStore
from novamesh.scheduler.pipeline import Scheduler
from novamesh.scheduler.spec import Flavor, RequestSpec

placement_main = pytest.importorskip("novamesh.placement.main")
placement_typed = pytest.importorskip("novamesh.placement.typed")

HOSTS = 3


@pytest.fixture
async def channel(tmp_path: Path) -> AsyncIterator[grpc.aio.Channel]:
    store = await placement_main.open_store(f"sqlite:///{tmp_path}/placement.db")
    server = grpc.aio.server()
    from novamesh.placement.v1 import placement_pb2_grpc

    placement_pb2_grpc.add_PlacementServiceServicer_to_server(
        placement_typed.PlacementServicer(store), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as chan:
            stub = placement_pb2_grpc.PlacementServiceStub(chan)
            for i in range(HOSTS):
                report = host_report(i, vcpus=4, memory_mb=4096, local_gb=40)
                await stub.EnsureProvider(
                    ppb.EnsureProviderRequest(uuid=report.uuid, name=report.host)
                )
                inventory = {
                    "VCPU": ppb.Inventory(
                        total=4, max_unit=4, step_size=1, min_unit=1, allocation_ratio=1.0
                    ),
                    "MEMORY_MB": ppb.Inventory(
                        total=4096, max_unit=4096, step_size=1, min_unit=1, allocation_ratio=1.0
                    ),
                    "DISK_GB": ppb.Inventory(
                        total=40, max_unit=40, step_size=1, min_unit=1, allocation_ratio=1.0
                    ),
                }
                await stub.SetInventories(
                    ppb.SetInventoriesRequest(
                        provider_uuid=report.uuid, generation=-1, inventories=inventory
                    )
                )
            yield chan
    finally:
        await server.stop(None)
        await store.engine.dispose()


def replica(channel: grpc.aio.Channel, seed: int) -> Scheduler:
    store = HostStateStore()
    for i in range(HOSTS):
        store.update(host_report(i, vcpus=4, memory_mb=4096, local_gb=40, cpu_allocation_ratio=1.0))
    return Scheduler(SchedulerConfig(), store, GrpcPlacement(channel), rng=random.Random(seed))


def big() -> RequestSpec:
    # Takes a whole host.
    return RequestSpec(
        project_id="p", user_id="u", flavor=Flavor(vcpus=4, memory_mb=4096, root_gb=10)
    )


async def test_claim_is_written_to_placement(channel: grpc.aio.Channel) -> None:
    from novamesh.placement.v1 import placement_pb2_grpc

    sched = replica(channel, 0)
    inst = str(uuid.uuid4())
    [placed] = await sched.select_destinations(big(), [inst], return_alternates=True)
    stub = placement_pb2_grpc.PlacementServiceStub(channel)
    allocs = await stub.GetAllocations(ppb.GetAllocationsRequest(consumer_uuid=inst))
    assert dict(allocs.allocations[placed.chosen.host.uuid].resources) == {
        "VCPU": 4,
        "MEMORY_MB": 4096,
        "DISK_GB": 10,
    }
    assert allocs.project_id == "p"
    assert len(placed.alternates) == 2


async def test_two_replicas_never_overcommit(channel: grpc.aio.Channel) -> None:
    # Each replica thinks every host is empty; placement lets only three whole-host claims in.
    replicas = [replica(channel, 1), replica(channel, 1)]

    async def boot(i: int) -> str | None:
        try:
            [placed] = await replicas[i % 2].select_destinations(big(), [str(uuid.uuid4())], False)
        except NoValidHost:
            return None
        return placed.chosen.host.host

    hosts = await asyncio.gather(*(boot(i) for i in range(6)))
    placed = [h for h in hosts if h is not None]
    assert sorted(placed) == ["host0", "host1", "host2"]


async def test_multi_instance_failure_leaves_no_allocation(channel: grpc.aio.Channel) -> None:
    from novamesh.placement.v1 import placement_pb2_grpc

    sched = replica(channel, 2)
    instances = [str(uuid.uuid4()) for _ in range(HOSTS + 1)]
    with pytest.raises(NoValidHost) as err:
        await sched.select_destinations(big(), instances, False)
    assert err.value.message == (
        "No valid host was found. 3 candidates from placement; placement refused 3 claims"
        " (capacity taken since it listed the candidates) (for instance 4 of 4)"
    )
    stub = placement_pb2_grpc.PlacementServiceStub(channel)
    for inst in instances:
        allocs = await stub.GetAllocations(ppb.GetAllocationsRequest(consumer_uuid=inst))
        assert not allocs.allocations


async def test_mirrored_aggregates_drive_the_placement_prefilters(
    channel: grpc.aio.Channel,
) -> None:
    """The mirror puts host aggregates on the providers; with both pre-filters on, placement
    itself lists only the zone's hosts / the project's hosts."""
    from novamesh.scheduler.aggregate_mirror import AggregateMirror
    from novamesh.scheduler.fakes import aggregate
    from novamesh.scheduler.grpc_placement import GrpcProviderAggregates

    store = HostStateStore()
    for i in range(HOSTS):
        store.update(host_report(i, vcpus=4, memory_mb=4096, local_gb=40, cpu_allocation_ratio=1.0))
    store.set_aggregates(
        [
            aggregate("zone", ["host1"], availability_zone="az1"),
            aggregate("mine", ["host2"], filter_tenant_id="p-isolated"),
        ]
    )
    assert await AggregateMirror(store, GrpcProviderAggregates(channel)).sync() == 2
    cfg = SchedulerConfig(
        query_placement_for_availability_zone=True, limit_tenants_to_placement_aggregate=True
    )
    sched = Scheduler(cfg, store, GrpcPlacement(channel), rng=random.Random(4))
    small = Flavor(vcpus=1, memory_mb=256, root_gb=1)
    zoned = RequestSpec(project_id="p", user_id="u", flavor=small, availability_zone="az1")
    [placed] = await sched.select_destinations(zoned, [str(uuid.uuid4())], True)
    assert placed.chosen.host.host == "host1" and placed.alternates == []
    isolated = RequestSpec(project_id="p-isolated", user_id="u", flavor=small)
    [placed] = await sched.select_destinations(isolated, [str(uuid.uuid4())], True)
    assert placed.chosen.host.host == "host2" and placed.alternates == []
