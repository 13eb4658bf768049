"""The compute manager: the transitions a user sees for build, terminate and power actions."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from novamesh.agent.commands import Build, Power, PowerKind, StateUpdate, Terminate
from novamesh.agent.ledger import CommandLedger, Outcome
from novamesh.agent.manager import ComputeManager
from novamesh.agent.resources import HostReport, Overcommit, ResourceTracker
from novamesh.agent.states import PowerState
from novamesh.agent.virt.fake import FakeDriver, FakeSettings
from novamesh.agent.virt.model import InstanceSpec


@dataclass
class Recorder:
    updates: list[StateUpdate] = field(default_factory=list)
    reports: list[HostReport] = field(default_factory=list)
    results: list[Outcome] = field(default_factory=list)

    def instance_update(self, update: StateUpdate) -> None:
        self.updates.append(update)

    def host_resources(self, report: HostReport) -> None:
        self.reports.append(report)

    def command_result(self, outcome: Outcome) -> None:
        self.results.append(outcome)

    def states(self, uuid: str) -> list[tuple[str, str, int]]:
        return [(u.vm_state, u.task_state, u.power_state) for u in self.updates if u.uuid == uuid]


def make(spawn_seconds: float = 0.0) -> tuple[ComputeManager, Recorder]:
    driver = FakeDriver(
        FakeSettings(hosts=("h-1", "h-2"), vcpus=4, memory_mb=4096, spawn_seconds=spawn_seconds)
    )
    tracker = ResourceTracker(driver, Overcommit(cpu_allocation_ratio=1.0), "nova")
    sink = Recorder()
    return ComputeManager(driver, tracker, CommandLedger(None), sink), sink


def inst(uuid: str, vcpus: int = 2, memory_mb: int = 1024) -> InstanceSpec:
    return InstanceSpec(uuid=uuid, vcpus=vcpus, memory_mb=memory_mb, root_gb=1)


async def test_build_walks_nova_task_states_to_active() -> None:
    manager, sink = make()
    await manager.start()
    await manager.handle("c1", "h-1", Build(inst("u1")))
    assert sink.states("u1") == [
        ("building", "networking", 0),
        ("building", "block_device_mapping", 0),
        ("building", "spawning", 0),
        ("active", "", 1),
    ]
    last = sink.updates[-1]
    assert last.event == "compute__do_build_and_run_instance"
    assert last.event_result == "Success"
    assert last.launched_at is not None
    assert last.interfaces[0].network == "private"
    assert sink.results == [Outcome("c1", "u1", ok=True)]
    report = sink.reports[-1]
    assert (report.host, report.vcpus_used, report.running_vms) == ("h-1", 2, 1)
    assert report.memory_mb_used == 1024 + 512


async def test_a_build_that_does_not_fit_is_refused_retryably() -> None:
    manager, sink = make()
    await manager.handle("c1", "h-1", Build(inst("u1", vcpus=3)))
    await manager.handle("c2", "h-1", Build(inst("u2", vcpus=2)))
    assert sink.states("u2") == [("building", "scheduling", 0)]
    failed = sink.updates[-1]
    assert failed.event_result == "Error"
    assert "free vcpu 1.00 VCPU < requested 2 VCPU" in failed.fault_message
    assert sink.results[-1].retryable and not sink.results[-1].ok
    # The other host has room.
    await manager.handle("c3", "h-2", Build(inst("u2", vcpus=2)))
    assert sink.results[-1].ok


async def test_a_repeated_command_id_is_answered_not_rerun() -> None:
    manager, sink = make()
    await manager.handle("c1", "h-1", Build(inst("u1")))
    updates = len(sink.updates)
    await manager.handle("c1", "h-1", Build(inst("u1")))
    assert len(sink.updates) == updates
    assert sink.results == [Outcome("c1", "u1", ok=True)] * 2


async def test_builds_run_concurrently() -> None:
    manager, sink = make(spawn_seconds=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.gather(
        *(manager.handle(f"c{n}", "h-1", Build(inst(f"u{n}", 1, 256))) for n in range(4))
    )
    assert loop.time() - started < 0.6
    assert all(r.ok for r in sink.results) and len(sink.results) == 4


async def test_terminate_releases_resources_and_reports_deleted() -> None:
    manager, sink = make()
    await manager.handle("c1", "h-1", Build(inst("u1")))
    await manager.handle("c2", "h-1", Terminate("u1"))
    assert sink.states("u1")[-1] == ("deleted", "", 0)
    assert sink.updates[-1].event == "compute_terminate_instance"
    assert sink.reports[-1].vcpus_used == 0
    # Terminating what is already gone succeeds (a re-sent delete after a restart).
    await manager.handle("c3", "h-1", Terminate("u1"))
    assert sink.results[-1].ok


async def test_terminate_during_a_build_wins() -> None:
    manager, sink = make(spawn_seconds=0.3)
    build = asyncio.create_task(manager.handle("c1", "h-1", Build(inst("u1"))))
    await asyncio.sleep(0.05)
    await manager.handle("c2", "h-1", Terminate("u1"))
    await build
    assert sink.states("u1")[-1] == ("deleted", "", 0)
    assert [r.ok for r in sink.results] == [True, False]
    assert manager.host_reports()[0].vcpus_used == 0


@pytest.mark.parametrize(
    ("kind", "task", "vm_state", "power", "event"),
    [
        (PowerKind.STOP, "powering-off", "stopped", PowerState.SHUTDOWN, "compute_stop_instance"),
        (PowerKind.PAUSE, "pausing", "paused", PowerState.PAUSED, "compute_pause_instance"),
        (PowerKind.SUSPEND, "suspending", "suspended", PowerState.SUSPENDED,
         "compute_suspend_instance"),
        (PowerKind.REBOOT_HARD, "reboot_started_hard", "active", PowerState.RUNNING,
         "compute_reboot_instance"),
    ],
)  # fmt: skip
async def test_power_actions(
    kind: PowerKind, task: str, vm_state: str, power: PowerState, event: str
) -> None:
    manager, sink = make()
    await manager.handle("c1", "h-1", Build(inst("u1")))
    await manager.handle("c2", "h-1", Power("u1", kind))
    assert sink.states("u1")[-2:] == [("active", task, 1), (vm_state, "", power)]
    assert (sink.updates[-1].event, sink.updates[-1].event_result) == (event, "Success")


async def test_stop_then_start_and_an_invalid_unpause_reverts_the_task() -> None:
    manager, sink = make()
    await manager.handle("c1", "h-1", Build(inst("u1")))
    await manager.handle("c2", "h-1", Power("u1", PowerKind.STOP))
    await manager.handle("c3", "h-1", Power("u1", PowerKind.UNPAUSE))
    assert sink.states("u1")[-1] == ("stopped", "", PowerState.SHUTDOWN)
    assert sink.updates[-1].event_result == "Error"
    assert not sink.results[-1].ok and not sink.results[-1].retryable
    await manager.handle("c4", "h-1", Power("u1", PowerKind.START))
    assert sink.states("u1")[-1] == ("active", "", PowerState.RUNNING)


async def test_power_action_on_a_missing_instance_fails() -> None:
    manager, sink = make()
    await manager.handle("c1", "h-1", Power("nope", PowerKind.STOP))
    assert sink.states("nope") == [("error", "", 0)]
    assert "not on host h-1" in sink.results[-1].error


async def test_restart_recovers_usage_from_the_driver() -> None:
    manager, sink = make()
    await manager.handle("c1", "h-1", Build(inst("u1")))
    reborn = ComputeManager(
        manager.driver,
        ResourceTracker(manager.driver, Overcommit(cpu_allocation_ratio=1.0), "nova"),
        CommandLedger(None),
        sink,
    )
    await reborn.start()
    assert reborn.host_reports()[0].vcpus_used == 2


async def test_an_unforeseen_spawn_failure_is_rescheduled_and_cleaned_up() -> None:
    manager, sink = make()

    async def broken_spawn(host: str, instance: InstanceSpec) -> list[object]:
        raise RuntimeError("disk on fire")

    manager.driver.spawn = broken_spawn  # type: ignore[method-assign,assignment]
    await manager.handle("c1", "h-1", Build(inst("u1")))
    assert sink.states("u1")[-1] == ("building", "scheduling", 0)
    assert "disk on fire" in sink.updates[-1].fault_message
    assert sink.results[-1].retryable
    assert manager.host_reports()[0].vcpus_used == 0
