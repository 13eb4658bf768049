"""What the scheduler needs from placement: candidates, an atomic claim, and its undo."""

from __future__ import annotations

from typing import Protocol

from novamesh.scheduler.resources import Candidate, ResourceRequest


class PlacementUnavailable(Exception):
    """Placement could not be reached or failed; the request cannot be scheduled now."""


class Placement(Protocol):
    async def candidates(self, request: ResourceRequest) -> list[Candidate]:
        """Allocation candidates for one instance of the request, at most request.limit."""
        ...

    async def claim(
        self,
        consumer_uuid: str,
        allocations: dict[str, dict[str, int]],
        project_id: str,
        user_id: str,
    ) -> bool:
        """Write a new consumer's allocations. False when placement refused them (a concurrent
        claim took the capacity or changed a generation): the caller tries the next host."""
        ...

    async def release(self, consumer_uuid: str) -> None:
        """Delete every allocation of the consumer. Idempotent."""
        ...
