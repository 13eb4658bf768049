"""A live migration as a job the hypervisor runs: its progress, and the two ways to steer it.

A driver that declares `operation.force-live-migration-to-complete` and
`operation.abort-in-progress-live-migration` implements `LiveMigrationJobs` beside
`LiveMigratable.live_migration`: while that call runs, the agent polls the job's progress and
may force or abort it. An aborted job makes `live_migration` raise `MigrationCancelled` with
the guest still running on the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from novamesh.agent.virt.model import DriverError


class MigrationCancelled(DriverError):
    """The live migration was aborted; the guest runs on, on the source."""


class NoActiveMigration(DriverError):
    """No live migration job runs for the guest (it ended, or never started)."""


@dataclass(frozen=True)
class MigrationProgress:
    """The hypervisor's counters (Nova's migration memory_* and disk_* columns), in bytes."""

    memory_total: int = 0
    memory_processed: int = 0
    memory_remaining: int = 0
    disk_total: int = 0
    disk_processed: int = 0
    disk_remaining: int = 0


@runtime_checkable
class LiveMigrationJobs(Protocol):
    async def live_migration_progress(self, host: str, uuid: str) -> MigrationProgress | None:
        """None while no job runs for the guest (not started yet, or over)."""
        ...

    async def live_migration_force_complete(self, host: str, uuid: str) -> None: ...

    async def live_migration_abort(self, host: str, uuid: str) -> None: ...
