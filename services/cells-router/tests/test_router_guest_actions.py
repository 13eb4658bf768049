"""Guest actions in the router: rescue, soft delete and restore, the periodic reclaim and the
automatic resize confirm."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.agent.v1 import agent_pb2
from novamesh.cells.testing import FakeAgent, Mesh, start_mesh
from novamesh.cells.v1 import actions_pb2, router_pb2
from novamesh.scheduler.v1 import request_spec_pb2


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path)
    try:
        yield m
    finally:
        await m.close()


async def _active(mesh: Mesh, hosts: list[str]) -> tuple[FakeAgent, router_pb2.Instance]:
    agent = await mesh.agent(hosts)
    mesh.scheduler.hosts = [(hosts[0], mesh.cells["cell1"])]
    (inst,) = await mesh.boot()
    return agent, await mesh.wait_for(inst.uuid, "active")


async def test_rescue_sends_the_image_and_password(mesh: Mesh) -> None:
    agent, inst = await _active(mesh, ["h1"])
    moved = await mesh.router.InstanceAction(
        router_pb2.InstanceActionRequest(
            uuid=inst.uuid,
            action="rescue",
            params={"admin_pass": "pw", "rescue_image_ref": "img-2"},
            expected_vm_states=["active"],
            expected_task_states=[""],
            task_state="rescuing",
        )
    )
    assert moved.task_state == "rescuing"
    await mesh.app.core.idle()
    (rescue,) = [c.rescue for c in agent.commands if c.WhichOneof("body") == "rescue"]
    assert (rescue.instance_uuid, rescue.image_id, rescue.admin_pass) == (inst.uuid, "img-2", "pw")


async def test_soft_delete_restore_and_reclaim(mesh: Mesh) -> None:
    agent, inst = await _active(mesh, ["h1"])
    await mesh.router.InstanceAction(
        router_pb2.InstanceActionRequest(
            uuid=inst.uuid, action="softDelete", task_state="soft-deleting"
        )
    )
    await mesh.app.core.idle()
    soft = await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=inst.uuid))
    assert (soft.vm_state, soft.task_state) == ("soft-delete", "")
    assert agent.commands[-1].power.kind == agent_pb2.PowerAction.KIND_STOP
    assert mesh.placement.allocations  # a soft-deleted server keeps its resources

    await mesh.router.InstanceAction(
        router_pb2.InstanceActionRequest(
            uuid=inst.uuid,
            action="restore",
            expected_vm_states=["soft-delete"],
            task_state="restoring",
        )
    )
    await mesh.app.core.idle()
    assert agent.commands[-1].power.kind == agent_pb2.PowerAction.KIND_START
    assert mesh.app.actions is not None

    # soft-delete again, then let the reclaim find it
    await mesh.router.InstanceAction(
        router_pb2.InstanceActionRequest(uuid=inst.uuid, action="softDelete")
    )
    await mesh.app.core.idle()
    cell = mesh.app.core.registry.get(mesh.cells["cell1"])
    guest = mesh.app.actions._guest
    assert await guest.reclaim_due(cell, 3600, mesh.app.servicer._lifecycle.delete) == 0
    assert await guest.reclaim_due(cell, -1, mesh.app.servicer._lifecycle.delete) == 1
    await mesh.app.core.idle()
    await mesh.wait_for(inst.uuid, "gone")
    assert inst.uuid in agent.terminated()
    assert not mesh.placement.allocations


async def test_unconfirmed_resize_is_confirmed_after_the_window(mesh: Mesh) -> None:
    await mesh.agent(["h1", "h2"])
    cell_uuid = mesh.cells["cell1"]
    mesh.scheduler.hosts = [("h1", cell_uuid)]
    (inst,) = await mesh.boot()
    await mesh.wait_for(inst.uuid, "active")
    mesh.scheduler.hosts = [("h2", cell_uuid)]
    assert mesh.app.actions is not None
    moves = mesh.app.actions._moves
    await moves.start(
        actions_pb2.MoveInstanceRequest(
            uuid=inst.uuid,
            migration_type="resize",
            flavor=request_spec_pb2.Flavor(id="2", vcpus=2, memory_mb=1024),
            action="resize",
        )
    )
    await mesh.app.core.idle()
    cell = mesh.app.core.registry.get(cell_uuid)
    assert await moves.confirm_due(cell, 3600) == 0
    assert await moves.confirm_due(cell, -1) == 1
    done = await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=inst.uuid))
    assert (done.vm_state, done.host, done.flavor.id) == ("active", "h2", "2")


async def test_shelve_offloads_at_once_and_unshelve_schedules_again(mesh: Mesh) -> None:
    agent, inst = await _active(mesh, ["h1", "h2"])
    await mesh.router.InstanceAction(
        router_pb2.InstanceActionRequest(
            uuid=inst.uuid,
            action="shelve",
            params={"image_id": "snap-1"},
            expected_vm_states=["active"],
            task_state="shelving",
        )
    )
    await mesh.app.core.idle()
    shelved = await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=inst.uuid))
    assert (shelved.vm_state, shelved.host, shelved.task_state) == ("shelved_offloaded", "", "")
    assert shelved.system_metadata["shelved_image_id"] == "snap-1"
    assert inst.uuid not in mesh.placement.allocations
    bodies = [c.WhichOneof("body") for c in agent.commands]
    assert bodies[-3:] == ["power", "snapshot", "shelve_offload"]

    mesh.scheduler.hosts = [("h2", mesh.cells["cell1"])]
    await mesh.router.InstanceAction(
        router_pb2.InstanceActionRequest(
            uuid=inst.uuid,
            action="unshelve",
            params={"availability_zone": "nova"},
            expected_vm_states=["shelved", "shelved_offloaded"],
            task_state="unshelving",
        )
    )
    await mesh.app.core.idle()
    back = await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=inst.uuid))
    assert back.host == "h2" and "shelved_image_id" not in back.system_metadata
    unshelve = agent.commands[-1]
    assert (unshelve.host, unshelve.unshelve.instance.image.id) == ("h2", "snap-1")
    assert mesh.scheduler.calls[-1].spec.availability_zone == "nova"
    assert mesh.placement.allocations[inst.uuid]
