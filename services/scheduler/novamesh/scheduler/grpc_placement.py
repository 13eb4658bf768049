"""Placement over its typed gRPC service (novamesh.placement.v1.PlacementService)."""

from __future__ import annotations

import grpc
from novamesh.common import context
from novamesh.placement.v1 import placement_pb2 as pb
from novamesh.placement.v1 import placement_pb2_grpc as pb_grpc
from novamesh.scheduler.placement import PlacementUnavailable
from novamesh.scheduler.resources import Candidate, RequestGroup, ResourceRequest

# A claim that loses a race is answered ABORTED; capacity gone between the candidates query and
# the claim may also come back as FAILED_PRECONDITION or RESOURCE_EXHAUSTED.
_CONFLICT = {
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ALREADY_EXISTS,
}
TIMEOUT = 30.0
_COMPUTE_CLASSES = {"VCPU", "PCPU", "MEMORY_MB"}


def group_to_proto(group: RequestGroup) -> pb.RequestGroup:
    return pb.RequestGroup(
        suffix=group.suffix,
        resources=group.resources,
        required_traits=sorted(group.required_traits),
        forbidden_traits=sorted(group.forbidden_traits),
        member_of=[pb.AnyOf(values=v) for v in group.member_of],
        in_tree=group.in_tree,
    )


def request_to_proto(request: ResourceRequest) -> pb.GetAllocationCandidatesRequest:
    return pb.GetAllocationCandidatesRequest(
        groups=[group_to_proto(g) for g in request.groups],
        group_policy=request.group_policy,
        limit=request.limit,
    )


def candidates_from_proto(reply: pb.AllocationCandidates) -> list[Candidate]:
    summaries = reply.provider_summaries
    out = []
    for areq in reply.allocation_requests:
        allocations = {rp: dict(alloc.resources) for rp, alloc in areq.allocations.items()}
        root = ""
        for rp, resources in allocations.items():
            summary = summaries.get(rp)
            rp_root = (summary.root_provider_uuid if summary else "") or rp
            # A sharing provider (shared storage) is its own root: the compute node is the
            # tree that gives the CPU and memory.
            if not root or _COMPUTE_CLASSES & resources.keys():
                root = rp_root
        mappings = {k: list(v.values) for k, v in areq.mappings.items()}
        out.append(Candidate(root, allocations, mappings))
    return out


class GrpcPlacement:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = pb_grpc.PlacementServiceStub(channel)

    async def candidates(self, request: ResourceRequest) -> list[Candidate]:
        try:
            reply = await self._stub.GetAllocationCandidates(
                request_to_proto(request), timeout=TIMEOUT
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise ValueError(exc.details() or "placement rejected the request") from exc
            raise PlacementUnavailable(f"placement: {exc.code().name} {exc.details()}") from exc
        return candidates_from_proto(reply)

    async def claim(
        self,
        consumer_uuid: str,
        allocations: dict[str, dict[str, int]],
        project_id: str,
        user_id: str,
    ) -> bool:
        request = pb.ClaimAllocationsRequest(
            consumer_uuid=consumer_uuid,
            allocations={
                rp: pb.ProviderAllocation(resources=res) for rp, res in allocations.items()
            },
            project_id=project_id,
            user_id=user_id,
            consumer_generation=-1,
            consumer_type="INSTANCE",
            request_id=context.current_request_id(),
        )
        try:
            await self._stub.ClaimAllocations(request, timeout=TIMEOUT)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _CONFLICT:
                return False
            raise PlacementUnavailable(f"placement: {exc.code().name} {exc.details()}") from exc
        return True

    async def release(self, consumer_uuid: str) -> None:
        try:
            await self._stub.DeleteAllocations(
                pb.DeleteAllocationsRequest(
                    consumer_uuid=consumer_uuid, request_id=context.current_request_id()
                ),
                timeout=TIMEOUT,
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise PlacementUnavailable(f"placement: {exc.code().name}") from exc


class GrpcProviderAggregates:
    """A provider's aggregates over the typed API (for the aggregate mirror)."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = pb_grpc.PlacementServiceStub(channel)

    async def get(self, provider_uuid: str) -> tuple[int, set[str]] | None:
        try:
            rp = await self._stub.GetProvider(
                pb.GetProviderRequest(uuid=provider_uuid), timeout=TIMEOUT
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise PlacementUnavailable(f"placement: {exc.code().name}") from exc
        return rp.generation, set(rp.aggregates)

    async def put(self, provider_uuid: str, generation: int, aggregates: set[str]) -> bool:
        try:
            await self._stub.SetProviderAggregates(
                pb.SetProviderAggregatesRequest(
                    provider_uuid=provider_uuid,
                    generation=generation,
                    aggregates=sorted(aggregates),
                ),
                timeout=TIMEOUT,
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _CONFLICT:
                return False
            raise PlacementUnavailable(f"placement: {exc.code().name}") from exc
        return True
