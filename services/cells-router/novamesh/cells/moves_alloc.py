"""A move's allocations in placement, as Nova keeps them.

When a move starts, the instance's allocation on the source becomes the migration's (consumer
= the migration's uuid) and the scheduler claims the destination for the instance; a confirm
drops the migration's allocation, a revert or a failure gives it back to the instance.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc
from novamesh.cells.core import Core
from novamesh.cells.v1 import router_pb2
from novamesh.placement.v1 import placement_pb2, placement_pb2_grpc

LOG = logging.getLogger(__name__)


class MoveAllocations:
    def __init__(self, core: Core, placement: placement_pb2_grpc.PlacementServiceAsyncStub) -> None:
        self._core = core
        self._placement = placement

    async def hand_to_migration(
        self, uuid: str, migration_uuid: str, inst: router_pb2.Instance
    ) -> None:
        """The instance's source allocation becomes the migration's."""
        current = await self._placement.GetAllocations(
            placement_pb2.GetAllocationsRequest(consumer_uuid=uuid)
        )
        if not current.allocations:
            return
        await self._placement.ClaimAllocations(
            placement_pb2.ClaimAllocationsRequest(
                consumer_uuid=migration_uuid,
                allocations=_plain(current.allocations),
                project_id=current.project_id or inst.project_id,
                user_id=current.user_id or inst.user_id,
                consumer_generation=-1,
                consumer_type="MIGRATION",
            )
        )
        await self._placement.DeleteAllocations(
            placement_pb2.DeleteAllocationsRequest(consumer_uuid=uuid)
        )

    async def give_back(self, uuid: str, migration_uuid: str, inst: router_pb2.Instance) -> None:
        """The migration's source allocation goes back to the instance."""
        try:
            held = await self._placement.GetAllocations(
                placement_pb2.GetAllocationsRequest(consumer_uuid=migration_uuid)
            )
            if not held.allocations:
                return
            await self._placement.ClaimAllocations(
                placement_pb2.ClaimAllocationsRequest(
                    consumer_uuid=uuid,
                    allocations=_plain(held.allocations),
                    project_id=held.project_id or inst.project_id,
                    user_id=held.user_id or inst.user_id,
                    consumer_generation=-1,
                    consumer_type="INSTANCE",
                )
            )
            await self._placement.DeleteAllocations(
                placement_pb2.DeleteAllocationsRequest(consumer_uuid=migration_uuid)
            )
        except grpc.aio.AioRpcError as exc:
            LOG.warning("cannot give migration %s's allocation back: %s", migration_uuid, exc)

    async def drop_instance(self, uuid: str) -> None:
        await self._core.quietly(
            self._placement.DeleteAllocations(
                placement_pb2.DeleteAllocationsRequest(consumer_uuid=uuid)
            ),
            f"releasing the destination allocation of {uuid}",
        )


def _plain(
    allocations: Any,
) -> dict[str, placement_pb2.ProviderAllocation]:
    # Generations of the providers are the placement service's business on a claim.
    return {
        rp: placement_pb2.ProviderAllocation(resources=dict(a.resources))
        for rp, a in allocations.items()
    }
