"""A live migration as a job on the agent: progress reports, force-complete, abort, and the
destination counting the guest that arrived from another agent's host."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from novamesh.agent import action_commands as ac
from novamesh.agent.commands import Build, StateUpdate, Terminate
from novamesh.agent.ledger import CommandLedger, Outcome
from novamesh.agent.live_migration import ProgressReport
from novamesh.agent.manager import ComputeManager
from novamesh.agent.resources import HostReport, Overcommit, ResourceTracker
from novamesh.agent.virt.fake import FakeDriver, FakeSettings
from novamesh.agent.virt.model import InstanceSpec

# Long enough never to end on its own within a test: each test ends it itself.
FOREVER = 600.0


@dataclass
class Recorder:
    updates: list[StateUpdate] = field(default_factory=list)
    reports: list[HostReport] = field(default_factory=list)
    results: list[Outcome] = field(default_factory=list)
    progress: list[ProgressReport] = field(default_factory=list)

    def instance_update(self, update: StateUpdate) -> None:
        self.updates.append(update)

    def host_resources(self, report: HostReport) -> None:
        self.reports.append(report)

    def command_result(self, outcome: Outcome) -> None:
        self.results.append(outcome)

    def live_migration_progress(self, report: ProgressReport) -> None:
        self.progress.append(report)

    def result(self, command_id: str) -> Outcome | None:
        return next((r for r in self.results if r.command_id == command_id), None)


def spec(uuid: str = "u1") -> InstanceSpec:
    return InstanceSpec(uuid=uuid, vcpus=1, memory_mb=512, root_gb=1, flavor_name="small")


async def started(
    seconds: float = FOREVER, hosts: tuple[str, ...] = ("h-1", "h-2")
) -> tuple[ComputeManager, FakeDriver, ResourceTracker, Recorder]:
    driver = FakeDriver(
        FakeSettings(hosts=hosts, vcpus=4, memory_mb=4096, live_migration_seconds=seconds)
    )
    tracker = ResourceTracker(driver, Overcommit(cpu_allocation_ratio=1.0), "nova")
    sink = Recorder()
    manager = ComputeManager(driver, tracker, CommandLedger(None), sink)
    manager._actions._live._interval = 0.01
    await manager.start()
    await manager.handle("b", hosts[0], Build(spec()))
    return manager, driver, tracker, sink


def used(tracker: ResourceTracker, host: str) -> int:
    return tracker.report(host).running_vms


async def _running(manager: ComputeManager, sink: Recorder) -> asyncio.Task[None]:
    job = asyncio.create_task(manager.handle("l", "h-1", ac.LiveMigrate(spec(), "h-2", "mig-1")))
    for _ in range(500):
        if sink.progress:
            return job
        await asyncio.sleep(0.01)
    raise AssertionError("the migration reported no progress")


async def test_a_running_job_reports_progress_and_abort_keeps_the_guest_on_the_source() -> None:
    manager, driver, tracker, sink = await started()
    job = await _running(manager, sink)
    first = sink.progress[0]
    assert (first.migration_uuid, first.instance_uuid, first.host) == ("mig-1", "u1", "h-1")
    assert first.progress.memory_total == 512 * 1024 * 1024
    assert first.progress.disk_total == 1024**3
    assert first.progress.memory_processed + first.progress.memory_remaining == (
        first.progress.memory_total
    )
    assert sink.result("l") is None

    await manager.handle("a", "h-1", ac.LiveMigrationAbort("u1", "mig-1"))
    assert (sink.result("a") or Outcome("", "", False)).ok
    await asyncio.wait_for(job, 30)
    outcome = sink.result("l")
    assert outcome is not None and not outcome.ok
    assert outcome.data == {"status": "cancelled"}
    assert (driver.guest_state("u1") or {})["host"] == "h-1"
    assert (used(tracker, "h-1"), used(tracker, "h-2")) == (1, 0)
    last = sink.updates[-1]
    assert (last.host, last.vm_state, last.task_state, last.fault_message) == (
        "h-1",
        "active",
        "",
        "",
    )
    # nothing runs any more: a second abort finds no job
    await manager.handle("a2", "h-1", ac.LiveMigrationAbort("u1", "mig-1"))
    late = sink.result("a2")
    assert late is not None and not late.ok and "no live migration" in late.error


async def test_force_complete_ends_the_job_on_the_destination() -> None:
    manager, driver, tracker, sink = await started()
    job = await _running(manager, sink)
    await manager.handle("f", "h-1", ac.LiveMigrationForceComplete("u1", "mig-1"))
    assert (sink.result("f") or Outcome("", "", False)).ok
    await asyncio.wait_for(job, 30)
    assert (sink.result("l") or Outcome("", "", False)).ok
    assert (driver.guest_state("u1") or {})["host"] == "h-2"
    assert (used(tracker, "h-1"), used(tracker, "h-2")) == (0, 1)


async def test_an_instant_job_reports_nothing_and_control_finds_no_job() -> None:
    manager, _, _, sink = await started(seconds=0)
    await manager.handle("l", "h-1", ac.LiveMigrate(spec(), "h-2", "mig-1"))
    assert (sink.result("l") or Outcome("", "", False)).ok
    assert sink.progress == []
    await manager.handle("f", "h-2", ac.LiveMigrationForceComplete("u1", "mig-1"))
    assert not (sink.result("f") or Outcome("", "", True)).ok


async def test_the_destination_counts_a_guest_that_arrived_from_another_agent() -> None:
    # Two agents: the guest was moved by the hypervisor itself, this agent never claimed it.
    manager, driver, tracker, sink = await started(seconds=0, hosts=("h-3",))
    arriving = spec("u2")
    await driver.spawn("h-3", arriving)  # the guest the hypervisor received
    assert used(tracker, "h-3") == 1
    await manager.handle("p", "h-3", ac.PostLiveMigrationAtDestination(arriving, "mig-2"))
    assert (sink.result("p") or Outcome("", "", False)).ok
    assert used(tracker, "h-3") == 2
    assert sink.reports[-1].host == "h-3" and sink.reports[-1].running_vms == 2
    assert (sink.updates[-1].uuid, sink.updates[-1].host) == ("u2", "h-3")
    # said twice (a retried command), it still counts once
    await manager.handle("p2", "h-3", ac.PostLiveMigrationAtDestination(arriving, "mig-2"))
    assert used(tracker, "h-3") == 2


async def test_deleting_a_migrating_guest_ends_its_job_and_counts_it_nowhere() -> None:
    manager, driver, tracker, sink = await started()
    job = await _running(manager, sink)
    await manager.handle("t", "h-1", Terminate("u1"))
    assert (sink.result("t") or Outcome("", "", False)).ok
    await asyncio.wait_for(job, 30)
    outcome = sink.result("l")
    assert outcome is not None and outcome.data == {"status": "cancelled"}
    assert driver.guest_state("u1") is None
    assert (used(tracker, "h-1"), used(tracker, "h-2")) == (0, 0)
