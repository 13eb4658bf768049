"""Compute nodes across cells with their service state and instances; usage of a period."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from novamesh.agent.v1 import agent_pb2
from novamesh.cells.core import Conflict
from novamesh.cells.hypervisors import Hypervisors
from novamesh.cells.services import Services
from novamesh.cells.testing import FakeAgent, Mesh, start_mesh
from novamesh.cells.v1 import hypervisors_pb2 as hv


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path)
    try:
        yield m
    finally:
        await m.close()


def _hypervisors(mesh: Mesh) -> Hypervisors:
    core = mesh.app.core
    return Hypervisors(core, Services(core, None))


def _ts(value: dt.datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


async def test_nodes_with_state_and_servers(mesh: Mesh) -> None:
    await mesh.agent(["h1", "h2"])
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    (inst,) = await mesh.boot(name="web")
    await mesh.wait_for(inst.uuid, "active")

    found = await _hypervisors(mesh).list(with_servers=True)
    by_host = {h.hypervisor_hostname: h for h in found.hypervisors}
    assert sorted(by_host) == ["h1", "h2"]
    h1 = by_host["h1"]
    assert h1.service_up and not h1.service_disabled and h1.service_uuid
    assert h1.cell_uuid == mesh.cells["cell1"] and h1.uuid
    assert [(s.uuid, s.name) for s in h1.servers] == [(inst.uuid, "web")]
    assert not by_host["h2"].servers
    plain = await _hypervisors(mesh).list(with_servers=False)
    assert all(not h.servers for h in plain.hypervisors)


async def test_usage_instances_of_a_period(mesh: Mesh) -> None:
    await mesh.agent(["h1"])
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    (inst,) = await mesh.boot(name="web", project_id="p7")
    await mesh.wait_for(inst.uuid, "active")
    now = dt.datetime.now(dt.UTC)
    window = hv.ListUsageInstancesRequest(
        start=_ts(now - dt.timedelta(hours=1)), end=_ts(now + dt.timedelta(hours=1))
    )
    found = await _hypervisors(mesh).usage(window)
    assert [(i.uuid, i.project_id, i.flavor.name) for i in found.instances] == [
        (inst.uuid, "p7", "m1.tiny")
    ]
    assert found.instances[0].HasField("launched_at")
    window.project_id = "other"
    assert not (await _hypervisors(mesh).usage(window)).instances
    before = hv.ListUsageInstancesRequest(end=_ts(now - dt.timedelta(hours=1)))
    assert not (await _hypervisors(mesh).usage(before)).instances


class UptimeAgent(FakeAgent):
    """Answers the host uptime query as a driver would, or as one without it (`lacks`)."""

    lacks = False

    def _answer(self, command: agent_pb2.AgentCommand) -> None:
        if command.WhichOneof("body") != "get_host_uptime":
            super()._answer(command)
            return
        ok, error, data = True, "", {"uptime": " 10:00:00 up 3 days,  1:02"}
        if self.lacks:
            ok, error, data = False, "the fake driver does not support host uptime", {}
        result = agent_pb2.CommandResult(command_id=command.command_id, ok=ok, error=error)
        result.data.update(data)
        self.send(result=result)


async def test_host_uptime_from_its_agent(mesh: Mesh) -> None:
    agent = UptimeAgent(mesh.target, ["h1"])
    await agent.start()
    mesh._agents.append(agent)
    hypervisors = Hypervisors(mesh.app.core, Services(mesh.app.core, None), timeout=5)
    assert (await hypervisors.uptime("h1")).uptime == " 10:00:00 up 3 days,  1:02"
    agent.lacks = True
    with pytest.raises(NotImplementedError, match="does not implement uptime"):
        await hypervisors.uptime("h1")
    with pytest.raises(Conflict, match="Compute service of h9 is unavailable"):
        await hypervisors.uptime("h9")
