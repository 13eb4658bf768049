"""Live migration on the agent: the job on the source host, its progress, force-complete and
abort while it runs, and the destination counting the guest once it arrived.

The router's LiveMigrate command is answered when the job ends; meanwhile this agent polls the
driver for the job's progress and sends it to the router (`ProgressSink`). Force-complete and
abort arrive as commands of their own while the LiveMigrate command still holds the guest's
lock, so they run beside it, without the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from novamesh.agent import action_commands as ac
from novamesh.agent import states
from novamesh.agent.commands import Sink, StateUpdate
from novamesh.agent.resources import ResourceTracker
from novamesh.agent.states import PowerState
from novamesh.agent.virt import driver as drv
from novamesh.agent.virt.migration_job import (
    LiveMigrationJobs,
    MigrationCancelled,
    MigrationProgress,
    NoActiveMigration,
)
from novamesh.agent.virt.model import DriverError, NotSupported

LOG = logging.getLogger(__name__)

LIVE_MIGRATION_EVENT = "compute_live_migration"


@dataclass(frozen=True)
class ProgressReport:
    migration_uuid: str
    instance_uuid: str
    host: str
    progress: MigrationProgress


@runtime_checkable
class ProgressSink(Protocol):
    """A sink that can carry a running job's progress to the router (the router channel)."""

    def live_migration_progress(self, report: ProgressReport) -> None: ...


class LiveMigrations:
    def __init__(
        self,
        driver: drv.Driver,
        tracker: ResourceTracker,
        sink: Sink,
        progress_interval: float = 1.0,
    ) -> None:
        self._driver = driver
        self._tracker = tracker
        self._sink = sink
        self._interval = progress_interval
        # Guests whose job runs on this agent now -> their migration's uuid.
        self._running: dict[str, str] = {}

    def running(self, uuid: str) -> str | None:
        return self._running.get(uuid)

    async def migrate(self, host: str, c: ac.LiveMigrate) -> tuple[DriverError | None, bool]:
        """Run the job to its end; returns its error (None: the guest moved) and whether it
        was cancelled by an abort."""
        self._need("operation.live-migrate")
        assert isinstance(self._driver, drv.LiveMigratable)
        inst = c.instance
        local = c.dest_host in self._driver.list_hosts()
        power = await self._power(host, inst.uuid)
        vm_state = states.vm_state_for(power)
        if local:
            self._tracker.release(inst.uuid)
            try:
                self._tracker.claim(c.dest_host, inst)
            except DriverError as exc:
                self._tracker.claim(host, inst)
                return exc, False
        self._running[inst.uuid] = c.migration_uuid
        poller = asyncio.create_task(self._report(host, c))
        try:
            await self._driver.live_migration(host, inst.uuid, c.dest_host)
        except DriverError as exc:
            now = await self._power(host, inst.uuid)
            if local:
                self._tracker.release(inst.uuid)
                # A guest deleted meanwhile (the delete aborted the job) is counted nowhere.
                if now is not PowerState.NOSTATE:
                    self._tracker.claim(host, inst)
                for h in (host, c.dest_host):
                    self._sink.host_resources(self._tracker.report(h))
            cancelled = isinstance(exc, MigrationCancelled)
            # An abort is no failure of the guest: the event succeeds, without a fault.
            self._update(
                inst.uuid, host, vm_state, now, LIVE_MIGRATION_EVENT, None if cancelled else exc
            )
            return exc, cancelled
        finally:
            self._running.pop(inst.uuid, None)
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        if not local:
            self._tracker.release(inst.uuid)
        for h in (host, c.dest_host) if local else (host,):
            self._sink.host_resources(self._tracker.report(h))
        now = await self._power(c.dest_host, inst.uuid) if local else power
        self._update(inst.uuid, c.dest_host, vm_state, now, LIVE_MIGRATION_EVENT)
        return None, False

    async def force_complete(self, host: str, c: ac.LiveMigrationForceComplete) -> None:
        jobs = self._jobs("operation.force-live-migration-to-complete", c.uuid, host)
        await jobs.live_migration_force_complete(host, c.uuid)

    async def abort(self, host: str, c: ac.LiveMigrationAbort) -> None:
        jobs = self._jobs("operation.abort-in-progress-live-migration", c.uuid, host)
        await jobs.live_migration_abort(host, c.uuid)

    async def stop(self, host: str, uuid: str) -> None:
        """Abort the guest's running job, if any (its guest is being deleted)."""
        if uuid not in self._running or not isinstance(self._driver, LiveMigrationJobs):
            return
        try:
            await self._driver.live_migration_abort(host, uuid)
        except DriverError as exc:
            LOG.warning("cannot abort the live migration of %s: %s", uuid, exc)

    async def arrived(self, host: str, c: ac.PostLiveMigrationAtDestination) -> None:
        """The guest runs on `host` now (it came from another agent's host): count it here at
        once, not only after this agent's next start, and report its state from here."""
        inst = c.instance
        self._tracker.claim(host, inst)
        self._sink.host_resources(self._tracker.report(host))
        now = await self._power(host, inst.uuid)
        self._update(inst.uuid, host, states.vm_state_for(now), now)

    # ---- helpers ----------------------------------------------------------------------

    async def _report(self, host: str, c: ac.LiveMigrate) -> None:
        """Send the job's progress whenever it changed, until the job ends."""
        sink, jobs = self._sink, self._driver
        if not isinstance(sink, ProgressSink) or not isinstance(jobs, LiveMigrationJobs):
            return
        last: MigrationProgress | None = None
        uuid = c.instance.uuid
        while True:
            try:
                progress = await jobs.live_migration_progress(host, uuid)
            except DriverError as exc:
                LOG.debug("no progress for the live migration of %s: %s", uuid, exc)
                progress = None
            if progress is not None and progress != last:
                sink.live_migration_progress(ProgressReport(c.migration_uuid, uuid, host, progress))
                last = progress
            await asyncio.sleep(self._interval)

    def _jobs(self, capability: str, uuid: str, host: str) -> LiveMigrationJobs:
        self._need(capability)
        assert isinstance(self._driver, LiveMigrationJobs)
        if uuid not in self._running:
            raise NoActiveMigration(f"no live migration of instance {uuid} runs on {host}")
        return self._driver

    def _need(self, capability: str) -> None:
        if not drv.supports(self._driver, capability):
            raise NotSupported(f"the {self._driver.name} driver does not support {capability}")

    async def _power(self, host: str, uuid: str) -> PowerState:
        try:
            return (await self._driver.get_info(host, uuid)).power_state
        except DriverError:
            return PowerState.NOSTATE

    def _update(
        self,
        uuid: str,
        host: str,
        vm_state: str,
        power: PowerState,
        event: str = "",
        error: DriverError | None = None,
    ) -> None:
        self._sink.instance_update(
            StateUpdate(
                uuid=uuid,
                host=host,
                vm_state=vm_state,
                task_state="",
                power_state=power,
                event=event,
                event_result=(states.ERROR if error else states.SUCCESS) if event else "",
                fault_message=str(error) if error else "",
            )
        )
