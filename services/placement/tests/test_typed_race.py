"""The typed PlacementService under concurrent claims: capacity is never exceeded."""

from __future__ import annotations

import asyncio
import uuid

import grpc
from novamesh.placement.v1 import placement_pb2 as pb
from novamesh.placement.v1 import placement_pb2_grpc as pbg

RP = "5e6f0a3c-8f43-4b8e-9a51-000000000001"


async def _provider(
    stub: pbg.PlacementServiceAsyncStub, total: int, reserved: int, ratio: float
) -> None:
    await stub.EnsureProvider(pb.EnsureProviderRequest(uuid=RP, name="cn1"))
    await stub.SetInventories(
        pb.SetInventoriesRequest(
            provider_uuid=RP,
            generation=-1,
            inventories={
                "VCPU": pb.Inventory(total=total, reserved=reserved, allocation_ratio=ratio)
            },
        )
    )


async def _claim(stub: pbg.PlacementServiceAsyncStub, amount: int = 1) -> grpc.StatusCode:
    try:
        await stub.ClaimAllocations(
            pb.ClaimAllocationsRequest(
                consumer_uuid=str(uuid.uuid4()),
                allocations={RP: pb.ProviderAllocation(resources={"VCPU": amount})},
                project_id="p",
                user_id="u",
                consumer_generation=-1,
            )
        )
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


async def test_two_claims_on_the_last_unit_exactly_one_wins(
    stub: pbg.PlacementServiceAsyncStub,
) -> None:
    await _provider(stub, total=2, reserved=1, ratio=1.0)
    results = await asyncio.gather(_claim(stub), _claim(stub))
    assert sorted(r.name for r in results) == ["ABORTED", "OK"]


async def test_hundred_concurrent_claims_never_exceed_capacity(
    stub: pbg.PlacementServiceAsyncStub,
) -> None:
    # (total - reserved) * ratio = (8 - 3) * 2.0 = 10 units.
    await _provider(stub, total=8, reserved=3, ratio=2.0)
    results = await asyncio.gather(*(_claim(stub) for _ in range(100)))
    assert results.count(grpc.StatusCode.OK) == 10
    assert results.count(grpc.StatusCode.ABORTED) == 90
    usage = await stub.GetProviderUsages(pb.GetProviderUsagesRequest(provider_uuid=RP))
    assert usage.usages["VCPU"] == 10


async def test_consumer_generation_conflict_is_aborted(stub: pbg.PlacementServiceAsyncStub) -> None:
    await _provider(stub, total=4, reserved=0, ratio=1.0)
    consumer = str(uuid.uuid4())
    claim = pb.ClaimAllocationsRequest(
        consumer_uuid=consumer,
        allocations={RP: pb.ProviderAllocation(resources={"VCPU": 1})},
        project_id="p",
        user_id="u",
        consumer_generation=-1,
    )
    first = await stub.ClaimAllocations(claim)
    assert first.consumer_generation == 1
    try:
        await stub.ClaimAllocations(claim)
    except grpc.aio.AioRpcError as exc:
        assert exc.code() == grpc.StatusCode.ABORTED
        assert "consumer generation conflict" in (exc.details() or "")
    else:
        raise AssertionError("a second 'new consumer' claim must conflict")
    got = await stub.GetAllocations(pb.GetAllocationsRequest(consumer_uuid=consumer))
    assert got.consumer_generation == 1
    assert dict(got.allocations[RP].resources) == {"VCPU": 1}


async def test_delete_allocations_is_idempotent(stub: pbg.PlacementServiceAsyncStub) -> None:
    await _provider(stub, total=4, reserved=0, ratio=1.0)
    consumer = str(uuid.uuid4())
    await stub.DeleteAllocations(pb.DeleteAllocationsRequest(consumer_uuid=consumer))
    got = await stub.GetAllocations(pb.GetAllocationsRequest(consumer_uuid=consumer))
    assert got.consumer_generation == -1 and not got.allocations


async def test_inventory_generation_conflict_is_aborted(
    stub: pbg.PlacementServiceAsyncStub,
) -> None:
    await _provider(stub, total=4, reserved=0, ratio=1.0)
    try:
        await stub.SetInventories(
            pb.SetInventoriesRequest(
                provider_uuid=RP, generation=0, inventories={"VCPU": pb.Inventory(total=8)}
            )
        )
    except grpc.aio.AioRpcError as exc:
        assert exc.code() == grpc.StatusCode.ABORTED
    else:
        raise AssertionError("a stale generation must conflict")
