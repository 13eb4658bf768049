"""The typed `novamesh.placement.v1.PlacementService`: the mesh's own services' placement API.

It only translates protos to the objects layer and back; errors become gRPC status codes
(generation conflicts and capacity failures are ABORTED, so callers retry or pick the next
candidate).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from novamesh.placement import errors
from novamesh.placement.objects import (
    aggregates,
    allocations,
    candidates,
    inventories,
    providers,
    traits,
)
from novamesh.placement.objects.snapshot import Provider, Snapshot
from novamesh.placement.objects.store import Store
from novamesh.placement.v1 import placement_pb2 as pb
from novamesh.placement.v1 import placement_pb2_grpc as pb_grpc

T = TypeVar("T")

_CODES = {
    errors.Kind.INVALID: grpc.StatusCode.INVALID_ARGUMENT,
    errors.Kind.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    errors.Kind.FORBIDDEN: grpc.StatusCode.PERMISSION_DENIED,
    errors.Kind.CONFLICT: grpc.StatusCode.ABORTED,
}
_SPECIAL = {
    errors.DUPLICATE_NAME: grpc.StatusCode.ALREADY_EXISTS,
    errors.PROVIDER_IN_USE: grpc.StatusCode.FAILED_PRECONDITION,
    errors.PROVIDER_CANNOT_DELETE_PARENT: grpc.StatusCode.FAILED_PRECONDITION,
    errors.INVENTORY_INUSE: grpc.StatusCode.FAILED_PRECONDITION,
}


def _gen(value: int) -> int | None:
    return None if value < 0 else value


def provider_pb(snap: Snapshot, p: Provider) -> pb.ResourceProvider:
    return pb.ResourceProvider(
        uuid=p.uuid,
        name=p.name,
        generation=p.generation,
        parent_provider_uuid=snap.parent_uuid(p) or "",
        root_provider_uuid=snap.by_id[p.root_id].uuid,
        inventories={
            rc: pb.Inventory(
                total=i.total,
                reserved=i.reserved,
                min_unit=i.min_unit,
                max_unit=i.max_unit,
                step_size=i.step_size,
                allocation_ratio=i.allocation_ratio,
            )
            for rc, i in sorted(p.inventories.items())
        },
        traits=sorted(p.traits),
        aggregates=sorted(p.aggregates),
    )


def inventory_spec(i: pb.Inventory) -> inventories.InventorySpec:
    """Proto zeros mean "the default", as in the REST API."""
    return inventories.InventorySpec(
        total=i.total,
        reserved=i.reserved,
        min_unit=i.min_unit or 1,
        max_unit=i.max_unit or max(i.total, 1),
        step_size=i.step_size or 1,
        allocation_ratio=i.allocation_ratio or 1.0,
    )


def query_from_pb(req: pb.GetAllocationCandidatesRequest) -> candidates.Query:
    groups = [
        candidates.Group(
            suffix=g.suffix,
            resources=dict(g.resources),
            required=[frozenset([t]) for t in g.required_traits]
            + [frozenset(a.values) for a in g.any_of_traits],
            forbidden=frozenset(g.forbidden_traits),
            member_of=[frozenset(a.values) for a in g.member_of],
            forbidden_aggs=frozenset(g.forbidden_aggregates),
            in_tree=g.in_tree or None,
        )
        for g in req.groups
    ]
    return candidates.Query(
        groups=groups,
        group_policy=req.group_policy or None,
        limit=req.limit or None,
        root_required=frozenset(req.root_required),
        root_forbidden=frozenset(req.root_forbidden),
        same_subtrees=[frozenset(a.values) for a in req.same_subtree],
    )


def candidates_pb(snap: Snapshot, result: candidates.Result) -> pb.AllocationCandidates:
    out = pb.AllocationCandidates()
    for c in result.candidates:
        areq = out.allocation_requests.add()
        for pid, rc, amount in c.resources:
            p = snap.by_id[pid]
            alloc = areq.allocations[p.uuid]
            alloc.generation = p.generation
            alloc.resources[rc] = alloc.resources[rc] + amount
        for suffix, ids in c.mappings:
            areq.mappings[suffix].values.extend(sorted(snap.by_id[i].uuid for i in ids))
    for pid in result.summaries:
        p = snap.by_id[pid]
        s = out.provider_summaries[p.uuid]
        s.uuid = p.uuid
        s.root_provider_uuid = snap.by_id[p.root_id].uuid
        s.parent_provider_uuid = snap.parent_uuid(p) or ""
        s.generation = p.generation
        s.traits.extend(sorted(p.traits))
        for rc, inv in p.inventories.items():
            s.resources[rc].capacity = inv.capacity
            s.resources[rc].used = p.usages.get(rc, 0)
    return out


async def call(ctx: grpc.aio.ServicerContext[Any, Any], fn: Callable[[], Awaitable[T]]) -> T:
    """Run `fn`, turning domain errors into gRPC status codes."""
    try:
        return await fn()
    except errors.PlacementError as exc:
        code = _SPECIAL.get(exc.code) or _CODES.get(exc.kind, grpc.StatusCode.INVALID_ARGUMENT)
        await ctx.abort(code, exc.message)
        raise  # unreachable: abort raises


class PlacementServicer(pb_grpc.PlacementServiceServicer):
    def __init__(self, store: Store) -> None:
        self.store = store

    async def _call(
        self, ctx: grpc.aio.ServicerContext[Any, Any], fn: Callable[[], Awaitable[T]]
    ) -> T:
        return await call(ctx, fn)

    async def _provider(self, uuid: str) -> pb.ResourceProvider:
        snap = await self.store.view()
        p = snap.by_uuid.get(uuid)
        if p is None:
            raise errors.not_found(f"No resource provider with uuid {uuid} found")
        return provider_pb(snap, p)

    async def EnsureProvider(
        self, request: pb.EnsureProviderRequest, context: Any
    ) -> pb.ResourceProvider:
        async def run() -> pb.ResourceProvider:
            snap = await self.store.view()
            existing = snap.by_uuid.get(request.uuid)
            parent = request.parent_provider_uuid or None
            if existing is None:
                await providers.create(
                    self.store, request.name or request.uuid, request.uuid, parent
                )
            elif existing.name != request.name or snap.parent_uuid(existing) != parent:
                await providers.update_provider(
                    self.store,
                    request.uuid,
                    request.name or existing.name,
                    parent,
                    set_parent=True,
                    allow_reparenting=True,
                )
            return await self._provider(request.uuid)

        return await self._call(context, run)

    async def GetProvider(
        self, request: pb.GetProviderRequest, context: Any
    ) -> pb.ResourceProvider:
        return await self._call(context, lambda: self._provider(request.uuid))

    async def DeleteProvider(
        self, request: pb.DeleteProviderRequest, context: Any
    ) -> pb.DeleteProviderResponse:
        async def run() -> pb.DeleteProviderResponse:
            await providers.delete_provider(self.store, request.uuid)
            return pb.DeleteProviderResponse()

        return await self._call(context, run)

    async def SetInventories(
        self, request: pb.SetInventoriesRequest, context: Any
    ) -> pb.ResourceProvider:
        async def run() -> pb.ResourceProvider:
            specs = {rc: inventory_spec(i) for rc, i in request.inventories.items()}
            bad = inventories.check_capacity(request.provider_uuid, specs, True)
            if bad:
                raise errors.invalid(bad)
            await inventories.replace_all(
                self.store, request.provider_uuid, _gen(request.generation), specs
            )
            return await self._provider(request.provider_uuid)

        return await self._call(context, run)

    async def SetProviderTraits(
        self, request: pb.SetProviderTraitsRequest, context: Any
    ) -> pb.ResourceProvider:
        async def run() -> pb.ResourceProvider:
            for name in request.traits:
                if name.startswith("CUSTOM_"):
                    await traits.ensure(self.store, name)
            await traits.set_for_provider(
                self.store, request.provider_uuid, _gen(request.generation), list(request.traits)
            )
            return await self._provider(request.provider_uuid)

        return await self._call(context, run)

    async def SetProviderAggregates(
        self, request: pb.SetProviderAggregatesRequest, context: Any
    ) -> pb.ResourceProvider:
        async def run() -> pb.ResourceProvider:
            await aggregates.set_for_provider(
                self.store,
                request.provider_uuid,
                _gen(request.generation),
                list(request.aggregates),
            )
            return await self._provider(request.provider_uuid)

        return await self._call(context, run)

    async def GetAllocationCandidates(
        self, request: pb.GetAllocationCandidatesRequest, context: Any
    ) -> pb.AllocationCandidates:
        async def run() -> pb.AllocationCandidates:
            if not request.groups:
                raise errors.invalid("At least one request group is required.")
            snap = await self.store.view()
            return candidates_pb(snap, candidates.find(snap, query_from_pb(request)))

        return await self._call(context, run)

    async def ClaimAllocations(
        self, request: pb.ClaimAllocationsRequest, context: Any
    ) -> pb.ClaimAllocationsResponse:
        async def run() -> pb.ClaimAllocationsResponse:
            write = allocations.ConsumerWrite(
                uuid=request.consumer_uuid,
                allocations={u: dict(a.resources) for u, a in request.allocations.items()},
                project_id=request.project_id or None,
                user_id=request.user_id or None,
                generation=_gen(request.consumer_generation),
                consumer_type=request.consumer_type or None,
            )
            gens = await allocations.replace(self.store, [write])
            return pb.ClaimAllocationsResponse(
                consumer_generation=gens.get(request.consumer_uuid, 0)
            )

        return await self._call(context, run)

    async def GetAllocations(
        self, request: pb.GetAllocationsRequest, context: Any
    ) -> pb.ConsumerAllocations:
        async def run() -> pb.ConsumerAllocations:
            view = await allocations.get_consumer(self.store, request.consumer_uuid)
            if view is None:
                # No consumer yet: -1 is what ClaimAllocations expects for a new one.
                return pb.ConsumerAllocations(consumer_generation=-1)
            return pb.ConsumerAllocations(
                allocations={
                    u: pb.ProviderAllocation(resources=res, generation=gen)
                    for u, (gen, res) in view.allocations.items()
                },
                project_id=view.project_id or "",
                user_id=view.user_id or "",
                consumer_generation=view.generation if view.generation is not None else -1,
            )

        return await self._call(context, run)

    async def DeleteAllocations(
        self, request: pb.DeleteAllocationsRequest, context: Any
    ) -> pb.DeleteAllocationsResponse:
        async def run() -> pb.DeleteAllocationsResponse:
            await allocations.delete_consumer(self.store, request.consumer_uuid)
            return pb.DeleteAllocationsResponse()

        return await self._call(context, run)

    async def GetProviderUsages(
        self, request: pb.GetProviderUsagesRequest, context: Any
    ) -> pb.ProviderUsages:
        async def run() -> pb.ProviderUsages:
            snap = await self.store.view()
            p = snap.by_uuid.get(request.provider_uuid)
            if p is None:
                raise errors.not_found(
                    f"No resource provider with uuid {request.provider_uuid} found"
                )
            usages = {rc: p.usages.get(rc, 0) for rc in p.inventories}
            return pb.ProviderUsages(usages=usages, generation=p.generation)

        return await self._call(context, run)
