"""The fake driver's live migration: a job that takes `live_migration_seconds` (0: instant),
copies the guest's memory and disk at an even pace, and can be forced to complete or aborted
while it runs, so that the server-migrations API can be exercised on a running migration."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from novamesh.agent.virt.migration_job import (
    MigrationCancelled,
    MigrationProgress,
    NoActiveMigration,
)
from novamesh.agent.virt.model import InvalidInstanceState

if TYPE_CHECKING:
    from novamesh.agent.virt.fake import FakeSettings

MIB = 1024 * 1024
GIB = 1024 * MIB


class _Guest(Protocol):
    host: str
    memory_mb: int
    disk_gb: int

    def log(self, line: str) -> None: ...


@dataclass
class _Job:
    seconds: float
    memory: int
    disk: int
    started: float = field(default_factory=time.monotonic)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    aborted: bool = False

    def progress(self) -> MigrationProgress:
        done = min(1.0, (time.monotonic() - self.started) / self.seconds)
        memory, disk = int(self.memory * done), int(self.disk * done)
        return MigrationProgress(
            memory_total=self.memory,
            memory_processed=memory,
            memory_remaining=self.memory - memory,
            disk_total=self.disk,
            disk_processed=disk,
            disk_remaining=self.disk - disk,
        )


class FakeLiveMigration:
    """Mixed into FakeDriver: `operation.live-migrate` with its job controls."""

    _settings: FakeSettings
    # Jobs running now, by guest (the jobs end with the process, like the guests' copies).
    _live_jobs: dict[str, _Job]

    def _guest(self, host: str, uuid: str) -> _Guest:
        raise NotImplementedError

    def _changed(self) -> None:
        raise NotImplementedError

    @property
    def _jobs(self) -> dict[str, _Job]:
        # Created on first use, so FakeDriver's constructor needs no part of it.
        if not hasattr(self, "_live_jobs"):
            self._live_jobs = {}
        return self._live_jobs

    async def live_migration(self, host: str, uuid: str, dest_host: str) -> None:
        """Move a running guest between two of this driver's hosts, still running."""
        guest = self._guest(host, uuid)
        if dest_host not in self._settings.hosts:
            raise InvalidInstanceState(f"host {dest_host} is not simulated by this agent")
        seconds = self._settings.live_migration_seconds
        if seconds > 0:
            job = _Job(seconds, guest.memory_mb * MIB, guest.disk_gb * GIB)
            self._jobs[uuid] = job
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(job.ended.wait(), seconds)
            finally:
                self._jobs.pop(uuid, None)
            if job.aborted:
                guest.log(f"live migration to {dest_host} aborted")
                raise MigrationCancelled(f"live migration of {uuid} to {dest_host} was aborted")
        guest.host = dest_host
        guest.log(f"live-migrated from {host} to {dest_host}")
        self._changed()

    async def live_migration_progress(self, host: str, uuid: str) -> MigrationProgress | None:
        job = self._jobs.get(uuid)
        return job.progress() if job is not None else None

    async def live_migration_force_complete(self, host: str, uuid: str) -> None:
        # As a paused guest's copy converges at once: the job ends now, successfully.
        self._job(host, uuid).ended.set()

    async def live_migration_abort(self, host: str, uuid: str) -> None:
        job = self._job(host, uuid)
        job.aborted = True
        job.ended.set()

    def _job(self, host: str, uuid: str) -> _Job:
        job = self._jobs.get(uuid)
        if job is None:
            raise NoActiveMigration(f"no live migration of instance {uuid} runs on {host}")
        return job
