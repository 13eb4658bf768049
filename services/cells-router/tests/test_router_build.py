"""The conductor: boots land in their cell and go ACTIVE, or end in cell0 / ERROR with a fault."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from novamesh.cells.testing import Mesh, node_uuid, start_mesh
from novamesh.cells.v1 import router_pb2


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path)
    try:
        yield m
    finally:
        await m.close()


def _cell1(mesh: Mesh) -> str:
    return mesh.cells["cell1"]


async def test_boot_lands_in_its_cell_and_goes_active(mesh: Mesh) -> None:
    agent = await mesh.agent(["h1", "h2"])
    assert agent.cell_uuid == _cell1(mesh)
    mesh.scheduler.hosts = [("h1", _cell1(mesh))]

    (inst,) = await mesh.boot(name="web")
    found = await mesh.wait_for(inst.uuid, "active")

    assert found.host == "h1" and found.node == "h1"
    assert found.cell_name == "cell1" and found.cell_uuid == _cell1(mesh)
    assert found.power_state == 1 and found.HasField("launched_at")
    assert [i.address for i in found.interfaces] == ["10.0.0.5"]
    assert dict(found.metadata) == {"k": "v"} and found.flavor.name == "m1.tiny"
    assert agent.built() == [inst.uuid]
    build = next(c for c in agent.commands if c.WhichOneof("body") == "build")
    assert build.build.instance.admin_pass == "secret"
    assert mesh.placement.allocations[inst.uuid] == {node_uuid("h1")}

    # the build request is gone and the mapping points at the cell
    from novamesh.cells.apistore import ApiStore

    api: ApiStore = mesh.app.core.api
    assert await api.build_request(inst.uuid) is None
    mapping = await api.mapping(inst.uuid)
    assert mapping is not None and mapping.cell_id is not None


async def test_no_valid_host_buries_the_instance_in_cell0(mesh: Mesh) -> None:
    mesh.scheduler.no_valid_host = "There are not enough hosts available."
    (inst,) = await mesh.boot()
    found = await mesh.wait_for(inst.uuid, "error")

    assert found.cell_name == "cell0"
    assert found.fault.code == 500
    assert found.fault.message == "No valid host was found. There are not enough hosts available."
    assert not found.host
    assert inst.uuid not in mesh.placement.allocations
    # it lists and deletes like any other server
    listed = await mesh.router.ListInstances(router_pb2.ListInstancesRequest())
    assert [i.uuid for i in listed.instances] == [inst.uuid]
    await mesh.router.DeleteInstance(router_pb2.DeleteInstanceRequest(uuid=inst.uuid))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=inst.uuid))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_retryable_failure_reschedules_to_an_alternate(mesh: Mesh) -> None:
    agent = await mesh.agent(["h1", "h2"])
    agent.behaviour["h1"] = "retry"
    mesh.scheduler.hosts = [("h1", _cell1(mesh)), ("h2", _cell1(mesh))]

    (inst,) = await mesh.boot()
    found = await mesh.wait_for(inst.uuid, "active")

    assert found.host == "h2"
    assert [c.host for c in agent.commands if c.WhichOneof("body") == "build"] == ["h1", "h2"]
    assert mesh.placement.allocations[inst.uuid] == {node_uuid("h2")}


async def test_exhausted_attempts_error_the_instance_and_release_it(mesh: Mesh) -> None:
    agent = await mesh.agent(["h1", "h2"])
    agent.behaviour.update(h1="retry", h2="retry")
    mesh.scheduler.hosts = [("h1", _cell1(mesh)), ("h2", _cell1(mesh))]

    (inst,) = await mesh.boot()
    found = await mesh.wait_for(inst.uuid, "error")

    assert "failed after 2 attempt(s)" in found.fault.message
    assert "h1: spawn failed on h1" in found.fault.message
    assert "h2: spawn failed on h2" in found.fault.message
    assert inst.uuid not in mesh.placement.allocations


async def test_a_refused_alternate_claim_moves_on(mesh: Mesh) -> None:
    agent = await mesh.agent(["h1", "h2", "h3"])
    agent.behaviour["h1"] = "retry"
    mesh.placement.refuse = {node_uuid("h2")}
    mesh.scheduler.hosts = [(h, _cell1(mesh)) for h in ("h1", "h2", "h3")]

    (inst,) = await mesh.boot()
    found = await mesh.wait_for(inst.uuid, "active")

    assert found.host == "h3"
    assert mesh.placement.allocations[inst.uuid] == {node_uuid("h3")}


async def test_a_non_retryable_failure_does_not_reschedule(mesh: Mesh) -> None:
    agent = await mesh.agent(["h1", "h2"])
    agent.behaviour["h1"] = "fail"
    mesh.scheduler.hosts = [("h1", _cell1(mesh)), ("h2", _cell1(mesh))]

    (inst,) = await mesh.boot()
    found = await mesh.wait_for(inst.uuid, "error")

    assert agent.built() == [inst.uuid]
    assert "spawn failed on h1" in found.fault.message
    assert inst.uuid not in mesh.placement.allocations


async def test_a_host_without_an_agent_counts_as_a_failed_attempt(mesh: Mesh) -> None:
    await mesh.agent(["h2"])
    mesh.scheduler.hosts = [("h1", _cell1(mesh)), ("h2", _cell1(mesh))]

    (inst,) = await mesh.boot()
    found = await mesh.wait_for(inst.uuid, "active")
    assert found.host == "h2"


async def test_a_pending_build_shows_as_building(mesh: Mesh) -> None:
    mesh.scheduler.delay = 0.5
    (inst,) = await mesh.boot(name="slow")
    found = await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=inst.uuid))
    assert found.vm_state == "building" and found.name == "slow" and not found.cell_uuid
    listed = await mesh.router.ListInstances(router_pb2.ListInstancesRequest())
    assert [i.uuid for i in listed.instances] == [inst.uuid]
