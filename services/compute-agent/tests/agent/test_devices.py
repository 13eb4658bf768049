"""A guest's devices on the agent: diagnostics, consoles, interface and volume attachments,
through the manager and the proto conversion, with the fake driver recording them."""

from __future__ import annotations

from dataclasses import dataclass, field

from novamesh.agent import convert
from novamesh.agent import device_commands as dc
from novamesh.agent.commands import Build, StateUpdate
from novamesh.agent.ledger import CommandLedger, Outcome
from novamesh.agent.manager import ComputeManager
from novamesh.agent.resources import HostReport, Overcommit, ResourceTracker
from novamesh.agent.v1 import agent_pb2
from novamesh.agent.v1 import guest_devices_pb2 as gd
from novamesh.agent.virt.fake import FakeDriver, FakeSettings
from novamesh.agent.virt.model import InstanceSpec


@dataclass
class Recorder:
    results: list[Outcome] = field(default_factory=list)

    def instance_update(self, update: StateUpdate) -> None:
        pass

    def host_resources(self, report: HostReport) -> None:
        pass

    def command_result(self, outcome: Outcome) -> None:
        self.results.append(outcome)


async def started() -> tuple[ComputeManager, FakeDriver, Recorder]:
    driver = FakeDriver(FakeSettings(hosts=("h-1",), vcpus=4, memory_mb=4096))
    tracker = ResourceTracker(driver, Overcommit(cpu_allocation_ratio=1.0), "nova")
    sink = Recorder()
    manager = ComputeManager(driver, tracker, CommandLedger(None), sink)
    await manager.start()
    await manager.handle("b", "h-1", Build(InstanceSpec(uuid="u1", vcpus=2, root_gb=1)))
    sink.results.clear()
    return manager, driver, sink


async def run(manager: ComputeManager, sink: Recorder, cmd: agent_pb2.AgentCommand) -> Outcome:
    await manager.handle(f"c{len(sink.results)}", "h-1", convert.command_from_proto(cmd))
    return sink.results[-1]


async def test_diagnostics_and_consoles() -> None:
    manager, _, sink = await started()
    cmd = agent_pb2.AgentCommand(get_diagnostics=gd.GetDiagnostics(instance_uuid="u1"))
    out = await run(manager, sink, cmd)
    assert out.ok, out.error
    assert out.data["state"] == "running" and out.data["driver"] == "fake"
    assert out.data["num_cpus"] == "2" and "cpu.1.time" in out.data
    assert out.data["nic.0.mac_address"].startswith("fa:16:3e:")
    for protocol in ("vnc", "spice", "serial"):
        cmd = agent_pb2.AgentCommand(
            get_console=gd.GetConsole(instance_uuid="u1", protocol=protocol)
        )
        out = await run(manager, sink, cmd)
        assert out.ok and out.data["host"] == "127.0.0.1" and int(out.data["port"]) > 0
    cmd = agent_pb2.AgentCommand(get_console=gd.GetConsole(instance_uuid="u1", protocol="mks"))
    out = await run(manager, sink, cmd)
    assert not out.ok and "does not support console.mks" in out.error


async def test_interfaces_and_volumes_are_recorded() -> None:
    manager, driver, sink = await started()
    attach = gd.AttachInterface(instance_uuid="u1", port_id="p2", network_id="net2")
    out = await run(manager, sink, agent_pb2.AgentCommand(attach_interface=attach))
    assert out.ok and out.data["network"] == "net2" and out.data["port_id"] == "p2"
    info = await driver.get_info("h-1", "u1")
    assert [i.port_id for i in info.interfaces][-1] == "p2"
    detach = gd.DetachInterface(instance_uuid="u1", port_id="p2")
    assert (await run(manager, sink, agent_pb2.AgentCommand(detach_interface=detach))).ok
    assert "p2" not in {i.port_id for i in (await driver.get_info("h-1", "u1")).interfaces}

    vol = gd.AttachVolume(instance_uuid="u1", volume_id="v1", device="/dev/vdb", size_gb=3)
    out = await run(manager, sink, agent_pb2.AgentCommand(attach_volume=vol))
    assert out.ok and out.data == {"device": "/dev/vdb"}
    assert driver._guests["u1"].volume_sizes["v1"] == 3
    swap = gd.SwapVolume(instance_uuid="u1", old_volume_id="v1", new_volume_id="v2")
    assert (await run(manager, sink, agent_pb2.AgentCommand(swap_volume=swap))).ok
    assert driver._guests["u1"].volumes == {"v2": "/dev/vdb"}
    gone = gd.DetachVolume(instance_uuid="u1", volume_id="v2")
    assert (await run(manager, sink, agent_pb2.AgentCommand(detach_volume=gone))).ok
    assert driver._guests["u1"].volumes == {}
    missing = gd.SwapVolume(instance_uuid="u1", old_volume_id="v9", new_volume_id="v3")
    assert not (await run(manager, sink, agent_pb2.AgentCommand(swap_volume=missing))).ok


def test_commands_need_an_instance() -> None:
    import pytest

    with pytest.raises(convert.BadCommand):
        convert.command_from_proto(agent_pb2.AgentCommand(get_diagnostics=gd.GetDiagnostics()))
    assert isinstance(
        convert.command_from_proto(
            agent_pb2.AgentCommand(get_console=gd.GetConsole(instance_uuid="u", protocol="vnc"))
        ),
        dc.GetConsole,
    )


async def test_host_uptime() -> None:
    """The host's uptime as the driver words it (os-hypervisors uptime); no guest is named."""
    manager, _, sink = await started()
    out = await run(manager, sink, agent_pb2.AgentCommand(get_host_uptime=gd.GetHostUptime()))
    assert out.ok, out.error
    assert out.instance_uuid == "" and " up 0 days, " in out.data["uptime"]
