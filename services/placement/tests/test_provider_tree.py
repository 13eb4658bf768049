"""PlacementTreeService.PutProviders: whole trees in one transaction, all or nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from novamesh.placement.objects.store import Store
from novamesh.placement.tree import PlacementTreeServicer
from novamesh.placement.v1 import placement_pb2 as ppb
from novamesh.placement.v1 import placement_pb2_grpc as ppbg
from novamesh.placement.v1 import provider_tree_pb2 as pb
from novamesh.placement.v1 import provider_tree_pb2_grpc as pbg


@pytest.fixture
async def tree_stub(
    store: Store, stub: ppbg.PlacementServiceAsyncStub
) -> AsyncIterator[pbg.PlacementTreeServiceAsyncStub]:
    server = grpc.aio.server()
    pbg.add_PlacementTreeServiceServicer_to_server(PlacementTreeServicer(store), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield pbg.PlacementTreeServiceStub(channel)  # type: ignore[misc]
    finally:
        await server.stop(None)


def state(rp: str, parent: str = "", **kw: object) -> pb.ProviderState:
    return pb.ProviderState(uuid=rp, name=f"n-{rp}", parent_provider_uuid=parent, **kw)  # type: ignore[arg-type]


async def test_put_tree_then_update(
    tree_stub: pbg.PlacementTreeServiceAsyncStub, stub: ppbg.PlacementServiceAsyncStub
) -> None:
    root, child = str(uuid.uuid4()), str(uuid.uuid4())
    agg = str(uuid.uuid4())
    resp = await tree_stub.PutProviders(
        pb.PutProvidersRequest(
            providers=[
                state(root, inventories={"DISK_GB": ppb.Inventory(total=100)}, aggregates=[agg]),
                state(
                    child,
                    root,
                    inventories={"CUSTOM_FPGA": ppb.Inventory(total=2)},
                    traits=["CUSTOM_FOO", "HW_NUMA_ROOT"],
                ),
            ]
        )
    )
    assert set(resp.generations) == {root, child}
    got = await stub.GetProvider(ppb.GetProviderRequest(uuid=child))
    assert got.root_provider_uuid == root
    assert sorted(got.traits) == ["CUSTOM_FOO", "HW_NUMA_ROOT"]
    assert got.inventories["CUSTOM_FPGA"].total == 2
    # Again with fewer traits: replaced, not merged.
    await tree_stub.PutProviders(
        pb.PutProvidersRequest(providers=[state(child, root, traits=["HW_NUMA_ROOT"])])
    )
    got = await stub.GetProvider(ppb.GetProviderRequest(uuid=child))
    assert list(got.traits) == ["HW_NUMA_ROOT"]
    assert dict(got.inventories) == {}


async def test_bad_provider_changes_nothing(
    tree_stub: pbg.PlacementTreeServiceAsyncStub, stub: ppbg.PlacementServiceAsyncStub
) -> None:
    good, orphan = str(uuid.uuid4()), str(uuid.uuid4())
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await tree_stub.PutProviders(
            pb.PutProvidersRequest(providers=[state(good), state(orphan, str(uuid.uuid4()))])
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetProvider(ppb.GetProviderRequest(uuid=good))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
