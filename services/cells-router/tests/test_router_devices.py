"""Diagnostics, consoles, interface and volume attachments through the router: the host is
asked first, the cell's records change only when it agreed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.agent.v1 import agent_pb2
from novamesh.cells.core import Conflict, NotFound
from novamesh.cells.devices import Devices, DriverLacks, next_device
from novamesh.cells.testing import FakeAgent, Mesh, start_mesh
from novamesh.cells.v1 import router_pb2
from novamesh.cells.v1 import server_devices_pb2 as sd


class DeviceAgent(FakeAgent):
    """Answers device commands as the fake driver would; `refuse` makes attaches fail."""

    refuse = False

    def _answer(self, command: agent_pb2.AgentCommand) -> None:
        body = command.WhichOneof("body")
        data: dict[str, str] = {}
        ok = True
        error = ""
        if body == "get_diagnostics":
            data = {"state": "running", "driver": "fake", "num_cpus": "1", "cpu.0.time": "17"}
        elif body == "get_console":
            if command.get_console.protocol == "spice":
                ok, error = False, "the fake driver does not support console.spice"
            data = {"host": "10.1.1.1", "port": "5901"}
        elif body == "attach_interface":
            a = command.attach_interface
            data = {"port_id": a.port_id, "network": a.network_id, "address": "10.9.0.2"}
        elif body in ("attach_volume", "swap_volume") and self.refuse:
            ok, error = False, "the volume is busy"
        elif body not in ("detach_interface", "detach_volume", "attach_volume", "swap_volume"):
            super()._answer(command)
            return
        self.send(
            result=agent_pb2.CommandResult(
                command_id=command.command_id, ok=ok, error=error, data=data
            )
        )


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path)
    try:
        yield m
    finally:
        await m.close()


async def active(mesh: Mesh) -> tuple[DeviceAgent, str]:
    agent = DeviceAgent(mesh.target, ["h1"])
    await agent.start()
    mesh._agents.append(agent)
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    (inst,) = await mesh.boot()
    await mesh.wait_for(inst.uuid, "active")
    return agent, inst.uuid


async def test_diagnostics_and_console(mesh: Mesh) -> None:
    _, uuid = await active(mesh)
    devices = Devices(mesh.app.core, timeout=5)
    diag = await devices.diagnostics(uuid)
    assert (diag.state, diag.driver, diag.num_cpus) == ("running", "fake", 1)
    assert diag.cpu_details[0].time == 17 and not diag.cpu_details[0].HasField("utilisation")
    assert not diag.HasField("uptime")
    endpoint = await devices.console(uuid, "vnc")
    assert (endpoint.host, endpoint.port, endpoint.instance_uuid) == ("10.1.1.1", 5901, uuid)
    with pytest.raises(DriverLacks, match="Unable to get spice console"):
        await devices.console(uuid, "spice")
    with pytest.raises(NotFound):
        await devices.diagnostics("00000000-0000-0000-0000-000000000000")


async def test_interfaces(mesh: Mesh) -> None:
    _, uuid = await active(mesh)
    devices = Devices(mesh.app.core, timeout=5)
    vif = await devices.attach_interface(
        sd.AttachInterfaceRequest(uuid=uuid, port_id="p2", network_id="net2", tag="t")
    )
    assert (vif.port_id, vif.address, vif.tag) == ("p2", "10.9.0.2", "t")
    got = await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=uuid))
    assert [v.port_id for v in got.interfaces][-1] == "p2"
    with pytest.raises(Conflict):
        await devices.attach_interface(sd.AttachInterfaceRequest(uuid=uuid, port_id="p2"))
    await devices.detach_interface(sd.DetachInterfaceRequest(uuid=uuid, port_id="p2"))
    got = await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=uuid))
    assert "p2" not in {v.port_id for v in got.interfaces}
    with pytest.raises(NotFound):
        await devices.detach_interface(sd.DetachInterfaceRequest(uuid=uuid, port_id="p2"))


async def test_volumes(mesh: Mesh) -> None:
    agent, uuid = await active(mesh)
    devices = Devices(mesh.app.core, timeout=5)
    first = await devices.attach_volume(sd.AttachVolumeRequest(uuid=uuid, volume_id="v1"))
    assert first.device == "/dev/vdb" and first.attachment_id and first.bdm_uuid
    second = await devices.attach_volume(
        sd.AttachVolumeRequest(uuid=uuid, volume_id="v2", tag="db", delete_on_termination=True)
    )
    assert second.device == "/dev/vdc" and second.tag == "db"
    with pytest.raises(Conflict, match="already attached"):
        await devices.attach_volume(sd.AttachVolumeRequest(uuid=uuid, volume_id="v1"))
    agent.refuse = True
    with pytest.raises(Conflict, match="busy"):
        await devices.attach_volume(sd.AttachVolumeRequest(uuid=uuid, volume_id="v3"))
    agent.refuse = False
    assert [a.volume_id for a in await devices.list_volumes(uuid)] == ["v1", "v2"]

    swapped = await devices.update_volume(
        sd.UpdateVolumeAttachmentRequest(
            uuid=uuid, volume_id="v1", new_volume_id="v9", delete_on_termination=True
        )
    )
    assert (swapped.volume_id, swapped.device, swapped.delete_on_termination) == (
        "v9",
        "/dev/vdb",
        True,
    )
    await devices.detach_volume(sd.DetachVolumeRequest(uuid=uuid, volume_id="v9"))
    assert [a.volume_id for a in await devices.list_volumes(uuid)] == ["v2"]
    with pytest.raises(NotFound):
        await devices.detach_volume(sd.DetachVolumeRequest(uuid=uuid, volume_id="v9"))
    # The freed name is reused first.
    again = await devices.attach_volume(sd.AttachVolumeRequest(uuid=uuid, volume_id="v4"))
    assert again.device == "/dev/vdb"


def test_device_names() -> None:
    assert next_device({"/dev/vda"}) == "/dev/vdb"
    assert next_device({"/dev/vda", "/dev/vdb", "/dev/vdd"}) == "/dev/vdc"


async def test_a_root_volume_stays(mesh: Mesh) -> None:
    from novamesh.cells.db import models
    from novamesh.cells.db.queries import BadQuery

    _, uuid = await active(mesh)
    devices = Devices(mesh.app.core, timeout=5)
    _, cell = await mesh.app.core.locate(uuid)
    assert cell is not None

    async def root(session: object) -> None:
        session.add(  # type: ignore[attr-defined]
            models.BlockDeviceMapping(
                uuid="00000000-0000-0000-0000-0000000000b1",
                instance_uuid=uuid,
                source_type="volume",
                destination_type="volume",
                boot_index=0,
                device_name="/dev/vda",
                volume_id="root-vol",
            )
        )

    await mesh.app.core.in_cell(cell, root)
    with pytest.raises(BadQuery, match="root device"):
        await devices.detach_volume(sd.DetachVolumeRequest(uuid=uuid, volume_id="root-vol"))
    assert [a.volume_id for a in await devices.list_volumes(uuid)] == ["root-vol"]
