"""The typed PlacementTreeService: protos in, provider_trees out."""

from __future__ import annotations

from typing import Any

from novamesh.placement import typed
from novamesh.placement.objects import provider_trees
from novamesh.placement.objects.store import Store
from novamesh.placement.typed import inventory_spec
from novamesh.placement.v1 import provider_tree_pb2 as pb
from novamesh.placement.v1 import provider_tree_pb2_grpc as pb_grpc


class PlacementTreeServicer(pb_grpc.PlacementTreeServiceServicer):
    def __init__(self, store: Store) -> None:
        self.store = store

    async def PutProviders(
        self, request: pb.PutProvidersRequest, context: Any
    ) -> pb.PutProvidersResponse:
        states = [
            provider_trees.ProviderState(
                uuid=p.uuid,
                name=p.name or p.uuid,
                parent_uuid=p.parent_provider_uuid or None,
                inventories={rc: inventory_spec(i) for rc, i in p.inventories.items()},
                traits=list(p.traits),
                aggregates=list(p.aggregates),
            )
            for p in request.providers
        ]

        async def run() -> pb.PutProvidersResponse:
            return pb.PutProvidersResponse(generations=await provider_trees.put(self.store, states))

        return await typed.call(context, run)
