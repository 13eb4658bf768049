"""Lifecycle actions (compare-and-swap on the states, then the host) and field edits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from novamesh.agent.v1 import agent_pb2
from novamesh.cells.testing import FakeAgent, Mesh, start_mesh
from novamesh.cells.v1 import router_pb2


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path)
    try:
        yield m
    finally:
        await m.close()


async def _active(mesh: Mesh) -> tuple[FakeAgent, router_pb2.Instance]:
    agent = await mesh.agent(["h1"])
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    (inst,) = await mesh.boot()
    return agent, await mesh.wait_for(inst.uuid, "active")


async def test_stop_moves_the_task_state_and_commands_the_host(mesh: Mesh) -> None:
    agent, inst = await _active(mesh)
    stopped = await mesh.router.InstanceAction(
        router_pb2.InstanceActionRequest(
            uuid=inst.uuid,
            action="stop",
            expected_vm_states=["active"],
            expected_task_states=[""],
            task_state="powering-off",
        )
    )
    assert stopped.task_state == "powering-off"
    await mesh.app.core.idle()
    power = [c.power for c in agent.commands if c.WhichOneof("body") == "power"]
    assert [(p.instance_uuid, p.kind) for p in power] == [
        (inst.uuid, agent_pb2.PowerAction.KIND_STOP)
    ]

    # a second stop while the first one runs is a conflict
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await mesh.router.InstanceAction(
            router_pb2.InstanceActionRequest(
                uuid=inst.uuid,
                action="stop",
                expected_vm_states=["active"],
                expected_task_states=[""],
                task_state="powering-off",
            )
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "powering-off" in (err.value.details() or "")


async def test_reboot_hard_and_lock(mesh: Mesh) -> None:
    agent, inst = await _active(mesh)
    await mesh.router.InstanceAction(
        router_pb2.InstanceActionRequest(
            uuid=inst.uuid,
            action="reboot",
            params={"type": "HARD"},
            task_state="reboot_started_hard",
        )
    )
    await mesh.app.core.idle()
    assert agent.commands[-1].power.kind == agent_pb2.PowerAction.KIND_REBOOT_HARD

    locked = await mesh.router.InstanceAction(
        router_pb2.InstanceActionRequest(uuid=inst.uuid, action="lock", params={"reason": "x"})
    )
    assert locked.locked and locked.locked_reason == "x"


async def test_an_unsupported_action_is_unimplemented(mesh: Mesh) -> None:
    _, inst = await _active(mesh)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await mesh.router.InstanceAction(
            router_pb2.InstanceActionRequest(uuid=inst.uuid, action="teleport")
        )
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_update_fields_metadata_and_tags(mesh: Mesh) -> None:
    _, inst = await _active(mesh)
    updated = await mesh.router.UpdateInstance(
        router_pb2.UpdateInstanceRequest(
            uuid=inst.uuid,
            instance=router_pb2.Instance(
                name="renamed", description="d", metadata={"a": "1"}, tags=["t1", "t2"]
            ),
            update_mask=["name", "description", "metadata", "tags"],
        )
    )
    assert updated.name == "renamed" and updated.description == "d"
    assert dict(updated.metadata) == {"a": "1"} and list(updated.tags) == ["t1", "t2"]
    again = await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=inst.uuid))
    assert again.name == "renamed" and list(again.tags) == ["t1", "t2"]

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await mesh.router.UpdateInstance(
            router_pb2.UpdateInstanceRequest(uuid=inst.uuid, update_mask=["host"])
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_an_edit_before_landing_is_kept(mesh: Mesh) -> None:
    await mesh.agent(["h1"])
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    mesh.scheduler.delay = 0.3
    (inst,) = await mesh.boot(name="before")
    pending = await mesh.router.UpdateInstance(
        router_pb2.UpdateInstanceRequest(
            uuid=inst.uuid, instance=router_pb2.Instance(name="after"), update_mask=["name"]
        )
    )
    assert pending.name == "after" and pending.vm_state == "building"
    landed = await mesh.wait_for(inst.uuid, "active")
    assert landed.name == "after"
