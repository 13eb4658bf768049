"""External events at the host (power-update, volume-extended) and start-up reconciliation:
evacuated guests destroyed, NUMA/PCI claims of running guests held again after a restart."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from novamesh.agent import host_event_commands as he
from novamesh.agent.commands import Build, StateUpdate
from novamesh.agent.convert import command_from_proto, report_to_proto
from novamesh.agent.device_commands import AttachVolume
from novamesh.agent.ledger import CommandLedger, Outcome
from novamesh.agent.manager import ComputeManager
from novamesh.agent.resources import HostReport, Overcommit, ResourceTracker
from novamesh.agent.states import PowerState
from novamesh.agent.v1 import agent_pb2, host_events_pb2
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


@dataclass
class Host:
    manager: ComputeManager
    driver: FakeDriver
    tracker: ResourceTracker
    sink: Recorder


async def start(tmp_path: Path | None = None, hosts: tuple[str, ...] = ("h-1",)) -> Host:
    settings = FakeSettings(
        hosts=hosts,
        vcpus=8,
        memory_mb=16384,
        numa_nodes=2,
        pci_devices=("10de:1eb8:2",),
        state_file=tmp_path / "fake.json" if tmp_path else None,
    )
    driver = FakeDriver(settings)
    tracker = ResourceTracker(
        driver,
        Overcommit(reserved_host_memory_mb=0),
        "nova",
        pci_aliases=["gpu:10de:1eb8"],
        claims_path=tmp_path / "claims.json" if tmp_path else None,
    )
    sink = Recorder()
    manager = ComputeManager(driver, tracker, CommandLedger(None), sink)
    await manager.start()
    return Host(manager, driver, tracker, sink)


def spec(uuid: str, **extra: str) -> InstanceSpec:
    return InstanceSpec(uuid=uuid, vcpus=2, memory_mb=1024, root_gb=1, flavor_extra_specs=extra)


async def test_power_update_turns_the_guest_off_and_on_as_compute_power_update() -> None:
    host = await start()
    await host.manager.handle("b", "h-1", Build(spec("u1")))
    host.sink.updates.clear()
    await host.manager.handle("p1", "h-1", he.PowerUpdate("u1", power_on=False))
    assert [(u.vm_state, u.task_state, u.power_state) for u in host.sink.updates] == [
        ("active", "powering-off", PowerState.RUNNING),
        ("stopped", "", PowerState.SHUTDOWN),
    ]
    assert (host.sink.updates[-1].event, host.sink.updates[-1].event_result) == (
        "compute_power_update",
        "Success",
    )
    assert (await host.driver.get_info("h-1", "u1")).power_state is PowerState.SHUTDOWN
    await host.manager.handle("p2", "h-1", he.PowerUpdate("u1", power_on=True))
    assert host.sink.updates[-1].vm_state == "active"
    assert (await host.driver.get_info("h-1", "u1")).power_state is PowerState.RUNNING
    assert [r.ok for r in host.sink.results[-2:]] == [True, True]


async def test_power_update_for_a_guest_that_is_not_here_fails_the_command() -> None:
    host = await start()
    await host.manager.handle("p", "h-1", he.PowerUpdate("nope", power_on=False))
    assert not host.sink.results[-1].ok


async def test_volume_extended_grows_the_attached_volume() -> None:
    host = await start()
    await host.manager.handle("b", "h-1", Build(spec("u1")))
    await host.manager.handle("a", "h-1", AttachVolume("u1", "vol-1", "/dev/vdb"))
    await host.manager.handle("e", "h-1", he.ExtendVolume("u1", "vol-1", 3))
    assert host.sink.results[-1].ok
    state = host.driver.guest_state("u1")
    assert state is not None and state["volume_sizes"] == {"vol-1": 3}
    # A volume that is not attached is the driver's error, reported back.
    await host.manager.handle("e2", "h-1", he.ExtendVolume("u1", "vol-2", 3))
    assert not host.sink.results[-1].ok


async def test_an_evacuated_guest_is_destroyed_and_its_resources_freed_silently() -> None:
    host = await start()
    await host.manager.handle("b", "h-1", Build(spec("u1")))
    host.sink.updates.clear()
    await host.manager.handle("d", "h-1", he.DestroyEvacuated("u1", "mig-1"))
    assert host.sink.results[-1].ok
    assert host.driver.guest_state("u1") is None
    # The instance now belongs to its new host: nothing is said about it from here.
    assert host.sink.updates == []
    assert host.sink.reports[-1].running_vms == 0
    # Once more (a re-sent command id is answered from the ledger; a new one finds nothing).
    await host.manager.handle("d2", "h-1", he.DestroyEvacuated("u1", "mig-1"))
    assert host.sink.results[-1].ok


async def test_a_guest_evacuated_while_its_agent_runs_stops_counting_but_stays(
    tmp_path: Path,
) -> None:
    host = await start(tmp_path)
    await host.manager.handle("b1", "h-1", Build(spec("u1")))
    await host.manager.handle("b2", "h-1", Build(spec("u2")))
    assert host.tracker.report("h-1").running_vms == 2
    host.sink.updates.clear()
    await host.manager.handle("f", "h-1", he.ForgetEvacuated("u1", "mig-1"))
    assert host.sink.results[-1].ok
    report = host.sink.reports[-1]
    assert (report.running_vms, report.vcpus_used, report.memory_mb_used) == (1, 2, 1024)
    assert host.tracker.report("h-1") == report
    # As Nova, the guest itself waits for the agent's next start.
    assert host.driver.guest_state("u1") is not None
    # Its power changes are not this host's to report any more; the other guest's still are.
    host.manager._power_changed("h-1", "u1", PowerState.SHUTDOWN)
    assert host.sink.updates == []
    host.manager._power_changed("h-1", "u2", PowerState.SHUTDOWN)
    assert [u.uuid for u in host.sink.updates] == ["u2"]
    # Forgetting again changes nothing and says nothing more.
    reports = len(host.sink.reports)
    await host.manager.handle("f2", "h-1", he.ForgetEvacuated("u1", "mig-1"))
    assert host.sink.results[-1].ok and len(host.sink.reports) == reports
    await host.driver.cleanup()

    # Started again, the agent finds the guest, and the router's DestroyEvacuated removes it.
    again = await start(tmp_path)
    assert again.tracker.report("h-1").running_vms == 2
    await again.manager.handle("d", "h-1", he.DestroyEvacuated("u1", "mig-1"))
    assert again.driver.guest_state("u1") is None
    assert again.sink.reports[-1].running_vms == 1


async def test_forgetting_on_the_old_host_keeps_the_claim_on_the_new_one() -> None:
    # One agent with both hosts: the evacuation's rebuild already moved the claim to h-2.
    host = await start(hosts=("h-1", "h-2"))
    await host.manager.handle("b", "h-2", Build(spec("u1")))
    await host.manager.handle("f", "h-1", he.ForgetEvacuated("u1", "mig-1"))
    assert host.sink.results[-1].ok
    assert host.tracker.report("h-2").running_vms == 1
    assert host.tracker.report("h-1").running_vms == 0
    assert not host.tracker.disowned("h-2", "u1")
    # Nor does the start-up clean-up on h-1 touch the guest that now runs on h-2.
    await host.manager.handle("d", "h-1", he.DestroyEvacuated("u1", "mig-1"))
    assert host.sink.results[-1].ok
    state = host.driver.guest_state("u1")
    assert state is not None and state["host"] == "h-2"
    assert host.tracker.report("h-2").running_vms == 1


def test_commands_come_from_their_protos() -> None:
    cmd = agent_pb2.AgentCommand(
        power_update=host_events_pb2.PowerUpdate(instance_uuid="u", power_on=True)
    )
    assert command_from_proto(cmd) == he.PowerUpdate("u", True)
    cmd = agent_pb2.AgentCommand(
        extend_volume=host_events_pb2.ExtendVolume(instance_uuid="u", volume_id="v", size_gb=4)
    )
    assert command_from_proto(cmd) == he.ExtendVolume("u", "v", 4)
    cmd = agent_pb2.AgentCommand(
        destroy_evacuated=host_events_pb2.DestroyEvacuated(instance_uuid="u", migration_uuid="m")
    )
    assert command_from_proto(cmd) == he.DestroyEvacuated("u", "m")
    cmd = agent_pb2.AgentCommand(
        forget_evacuated=host_events_pb2.ForgetEvacuated(instance_uuid="u", migration_uuid="m")
    )
    assert command_from_proto(cmd) == he.ForgetEvacuated("u", "m")


async def test_guests_running_at_start_hold_their_numa_cells_and_pci_devices(
    tmp_path: Path,
) -> None:
    first = await start(tmp_path)
    pinned = spec("pin", **{"hw:cpu_policy": "dedicated", "pci_passthrough:alias": "gpu:1"})
    await first.manager.handle("b", "h-1", Build(pinned))
    await first.manager.handle("b2", "h-1", Build(spec("plain")))
    before = report_to_proto(first.tracker.report("h-1"))
    assert [list(c.pinned_cpus) for c in before.numa_cells] == [[0, 1], []]
    assert [p.count for p in before.pci_pools] == [0, 1]
    await first.driver.cleanup()

    again = await start(tmp_path)
    after = report_to_proto(again.tracker.report("h-1"))
    assert [list(c.pinned_cpus) for c in after.numa_cells] == [[0, 1], []]
    assert [p.count for p in after.pci_pools] == [0, 1]
    assert after.running_vms == 2
    # The next dedicated guest gets the CPUs the recovered one does not hold.
    await again.manager.handle("b3", "h-1", Build(spec("pin2", **{"hw:cpu_policy": "dedicated"})))
    cells = report_to_proto(again.tracker.report("h-1")).numa_cells
    assert [list(c.pinned_cpus) for c in cells] == [[0, 1, 2, 3], []]


async def test_claims_of_guests_gone_while_the_agent_was_down_are_forgotten(
    tmp_path: Path,
) -> None:
    first = await start(tmp_path)
    await first.manager.handle("b", "h-1", Build(spec("pin", **{"hw:cpu_policy": "dedicated"})))
    await first.driver.cleanup()
    (tmp_path / "fake.json").unlink()
    again = await start(tmp_path)
    cells = report_to_proto(again.tracker.report("h-1")).numa_cells
    assert [list(c.pinned_cpus) for c in cells] == [[], []]
    assert "pin" not in (tmp_path / "claims.json").read_text()


async def test_every_host_of_an_agent_gets_its_guests_claims_back(tmp_path: Path) -> None:
    hosts = ("h-1", "h-2")
    first = await start(tmp_path, hosts)
    for n, host in enumerate(hosts):
        await first.manager.handle(
            f"b{n}", host, Build(spec(f"pin-{n}", **{"hw:cpu_policy": "dedicated"}))
        )
    await first.driver.cleanup()
    again = await start(tmp_path, hosts)
    for host in hosts:
        cells = report_to_proto(again.tracker.report(host)).numa_cells
        assert [list(c.pinned_cpus) for c in cells] == [[0, 1], []], host
