"""Resize and cold migration in the router: migration records, placement, agent steps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from novamesh.cells.testing import FakeAgent, Mesh, node_uuid, start_mesh
from novamesh.cells.v1 import actions_pb2, actions_pb2_grpc, router_pb2, services_pb2
from novamesh.scheduler.v1 import request_spec_pb2


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path)
    try:
        yield m
    finally:
        await m.close()


@pytest.fixture
async def actions(mesh: Mesh) -> AsyncIterator[actions_pb2_grpc.CellsActionsServiceAsyncStub]:
    assert mesh.app.actions is not None
    server = grpc.aio.server()
    actions_pb2_grpc.add_CellsActionsServiceServicer_to_server(mesh.app.actions, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield actions_pb2_grpc.CellsActionsServiceStub(channel)  # type: ignore[misc]
    finally:
        await channel.close(None)
        await server.stop(None)


BIG = request_spec_pb2.Flavor(id="2", name="m1.small", vcpus=2, memory_mb=2048, root_gb=20)


async def _resized(
    mesh: Mesh, actions: actions_pb2_grpc.CellsActionsServiceAsyncStub
) -> tuple[FakeAgent, router_pb2.Instance, actions_pb2.Migration]:
    agent = await mesh.agent(["h1", "h2"])
    cell = mesh.cells["cell1"]
    mesh.scheduler.hosts = [("h1", cell)]
    (inst,) = await mesh.boot()
    await mesh.wait_for(inst.uuid, "active")
    mesh.scheduler.hosts = [("h2", cell)]
    moving = await actions.MoveInstance(
        actions_pb2.MoveInstanceRequest(
            uuid=inst.uuid,
            migration_type="resize",
            flavor=BIG,
            expected_vm_states=["active", "stopped"],
            action="resize",
            request_id="req-resize",
        )
    )
    assert moving.task_state == "resize_prep"
    await mesh.app.core.idle()
    (mig,) = (await actions.ListMigrations(actions_pb2.ListMigrationsRequest())).migrations
    return agent, inst, mig


async def test_resize_moves_allocations_and_confirm_drops_the_source(
    mesh: Mesh, actions: actions_pb2_grpc.CellsActionsServiceAsyncStub
) -> None:
    agent, inst, mig = await _resized(mesh, actions)
    assert (mig.status, mig.source_compute, mig.dest_compute) == ("finished", "h1", "h2")
    assert (mig.old_flavor_id, mig.new_flavor_id, mig.migration_type) == ("1", "2", "resize")
    # the source allocation belongs to the migration, the destination's to the instance
    assert mesh.placement.allocations[mig.uuid] == {node_uuid("h1")}
    assert mesh.placement.allocations[inst.uuid] == {node_uuid("h2")}
    bodies = [(c.WhichOneof("body"), c.host) for c in agent.commands]
    assert ("migrate_out", "h1") in bodies and ("finish_migration", "h2") in bodies
    finish = next(c for c in agent.commands if c.WhichOneof("body") == "finish_migration")
    assert finish.finish_migration.instance.flavor.vcpus == 2
    shown = await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=inst.uuid))
    assert shown.flavor.id == "2" and shown.node == "h2"

    await mesh.router.InstanceAction(
        router_pb2.InstanceActionRequest(uuid=inst.uuid, action="confirmResize")
    )
    await mesh.app.core.idle()
    assert mig.uuid not in mesh.placement.allocations
    assert mesh.placement.allocations[inst.uuid] == {node_uuid("h2")}
    (done,) = (await actions.ListMigrations(actions_pb2.ListMigrationsRequest())).migrations
    assert done.status == "confirmed"
    shown = await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=inst.uuid))
    assert shown.vm_state == "active"

    # a second confirm finds nothing to confirm
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await mesh.router.InstanceAction(
            router_pb2.InstanceActionRequest(uuid=inst.uuid, action="confirmResize")
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    listed = await actions.ListInstanceActions(
        actions_pb2.ListInstanceActionsRequest(instance_uuid=inst.uuid)
    )
    assert [a.action for a in listed.actions] == ["confirmResize", "resize", "create"]
    one = await actions.GetInstanceAction(
        actions_pb2.GetInstanceActionRequest(instance_uuid=inst.uuid, request_id="req-resize")
    )
    assert one.action == "resize"


async def test_revert_gives_the_source_back(
    mesh: Mesh, actions: actions_pb2_grpc.CellsActionsServiceAsyncStub
) -> None:
    agent, inst, mig = await _resized(mesh, actions)
    await mesh.router.InstanceAction(
        router_pb2.InstanceActionRequest(
            uuid=inst.uuid, action="revertResize", task_state="resize_reverting"
        )
    )
    await mesh.app.core.idle()
    assert mig.uuid not in mesh.placement.allocations
    assert mesh.placement.allocations[inst.uuid] == {node_uuid("h1")}
    reverts = [
        (c.host, c.revert_migration.destroy_only)
        for c in agent.commands
        if c.WhichOneof("body") == "revert_migration"
    ]
    assert reverts == [("h2", True), ("h1", False)]
    shown = await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=inst.uuid))
    assert (shown.flavor.id, shown.host) == ("1", "h1")
    (done,) = (await actions.ListMigrations(actions_pb2.ListMigrationsRequest())).migrations
    assert done.status == "reverted"


async def test_no_valid_host_puts_everything_back(
    mesh: Mesh, actions: actions_pb2_grpc.CellsActionsServiceAsyncStub
) -> None:
    await mesh.agent(["h1"])
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    (inst,) = await mesh.boot()
    await mesh.wait_for(inst.uuid, "active")
    mesh.scheduler.no_valid_host = "No valid host was found. There are not enough hosts."
    await actions.MoveInstance(
        actions_pb2.MoveInstanceRequest(
            uuid=inst.uuid, migration_type="migration", action="migrate"
        )
    )
    await mesh.app.core.idle()
    back = await mesh.wait_for(inst.uuid, "active")
    assert back.host == "h1"
    assert mesh.placement.allocations[inst.uuid] == {node_uuid("h1")}
    assert len(mesh.placement.allocations) == 1
    (mig,) = (await actions.ListMigrations(actions_pb2.ListMigrationsRequest())).migrations
    assert mig.status == "error"
    assert mesh.scheduler.calls[-1].spec.ignore_hosts == ["h1"]


async def test_rebuild_changes_image_and_fields_and_commands_the_host(
    mesh: Mesh, actions: actions_pb2_grpc.CellsActionsServiceAsyncStub
) -> None:
    agent = await mesh.agent(["h1"])
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    (inst,) = await mesh.boot()
    await mesh.wait_for(inst.uuid, "active")
    rebuilt = await actions.RebuildInstance(
        actions_pb2.RebuildInstanceRequest(
            uuid=inst.uuid,
            image=request_spec_pb2.ImageMeta(id="img-2", name="other"),
            instance=router_pb2.Instance(name="renamed", metadata={"new": "1"}),
            update_mask=["name", "metadata"],
            admin_pass="pw",
            expected_vm_states=["active", "stopped", "error"],
            request_id="req-rebuild",
        )
    )
    assert (rebuilt.task_state, rebuilt.name, rebuilt.image_ref) == (
        "rebuilding",
        "renamed",
        "img-2",
    )
    assert dict(rebuilt.metadata) == {"new": "1"} and rebuilt.image.id == "img-2"
    await mesh.app.core.idle()
    command = agent.commands[-1]
    assert command.host == "h1"
    assert (command.rebuild.instance.image.id, command.rebuild.instance.admin_pass) == (
        "img-2",
        "pw",
    )
    assert command.rebuild.power_on
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await actions.RebuildInstance(
            actions_pb2.RebuildInstanceRequest(
                uuid=inst.uuid, image=request_spec_pb2.ImageMeta(id="img-3"), update_mask=["x"]
            )
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_live_migration_completes_and_moves_the_allocation(
    mesh: Mesh, actions: actions_pb2_grpc.CellsActionsServiceAsyncStub
) -> None:
    agent = await mesh.agent(["h1", "h2"])
    cell = mesh.cells["cell1"]
    mesh.scheduler.hosts = [("h1", cell)]
    (inst,) = await mesh.boot()
    await mesh.wait_for(inst.uuid, "active")
    mesh.scheduler.hosts = [("h2", cell)]
    moving = await actions.MoveInstance(
        actions_pb2.MoveInstanceRequest(
            uuid=inst.uuid,
            migration_type="live-migration",
            expected_vm_states=["active", "paused"],
            action="live-migration",
        )
    )
    assert moving.task_state == "migrating"
    await mesh.app.core.idle()
    (mig,) = (await actions.ListMigrations(actions_pb2.ListMigrationsRequest())).migrations
    assert (mig.status, mig.migration_type, mig.dest_compute) == (
        "completed",
        "live-migration",
        "h2",
    )
    live = next(c for c in agent.commands if c.WhichOneof("body") == "live_migrate")
    assert (live.host, live.live_migrate.dest_host) == ("h1", "h2")
    # the destination's agent counts the guest at once
    arrived = agent.commands[-1]
    assert arrived.host == "h2"
    assert arrived.post_live_migration_at_destination.instance.uuid == inst.uuid
    assert mesh.placement.allocations == {inst.uuid: {node_uuid("h2")}}
    done = await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=inst.uuid))
    assert (done.host, done.task_state) == ("h2", "")


async def test_evacuate_needs_a_dead_host_then_rebuilds_elsewhere(
    mesh: Mesh, actions: actions_pb2_grpc.CellsActionsServiceAsyncStub
) -> None:
    first = await mesh.agent(["h1"])
    second = await mesh.agent(["h2"])
    cell = mesh.cells["cell1"]
    mesh.scheduler.hosts = [("h1", cell)]
    (inst,) = await mesh.boot()
    await mesh.wait_for(inst.uuid, "active")
    evacuate = actions_pb2.MoveInstanceRequest(
        uuid=inst.uuid,
        migration_type="evacuation",
        expected_vm_states=["active", "stopped", "error"],
        action="evacuate",
        admin_pass="pw",
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await actions.MoveInstance(evacuate)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "still in use" in (err.value.details() or "")

    await first.stop()
    for _ in range(100):
        if not mesh.app.core.hub.connected("h1"):
            break
        await asyncio.sleep(0.02)
    mesh.scheduler.hosts = [("h2", cell)]
    moved = await actions.MoveInstance(evacuate)
    assert moved.task_state == "rebuilding"
    await mesh.app.core.idle()
    rebuild = second.commands[-1]
    assert rebuild.rebuild.on_new_host and rebuild.rebuild.instance.admin_pass == "pw"
    done = await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=inst.uuid))
    assert done.host == "h2"
    assert mesh.placement.allocations == {inst.uuid: {node_uuid("h2")}}
    (mig,) = (await actions.ListMigrations(actions_pb2.ListMigrationsRequest())).migrations
    assert (mig.status, mig.migration_type) == ("done", "evacuation")
    # The source's agent is gone: nothing to forget now, its restart destroys the guest.
    sent = [c.WhichOneof("body") for c in first.commands + second.commands]
    assert "forget_evacuated" not in sent


async def test_evacuate_from_a_forced_down_host_whose_agent_runs_makes_it_forget_the_guest(
    mesh: Mesh, actions: actions_pb2_grpc.CellsActionsServiceAsyncStub
) -> None:
    first = await mesh.agent(["h1"])
    second = await mesh.agent(["h2"])
    cell = mesh.cells["cell1"]
    mesh.scheduler.hosts = [("h1", cell)]
    (inst,) = await mesh.boot()
    await mesh.wait_for(inst.uuid, "active")
    await mesh.services.UpdateService(
        services_pb2.UpdateServiceRequest(
            service=services_pb2.ServiceRef(
                host_binary=services_pb2.HostBinary(host="h1", binary="nova-compute")
            ),
            forced_down=True,
        )
    )
    assert mesh.app.core.hub.connected("h1")
    mesh.scheduler.hosts = [("h2", cell)]
    await actions.MoveInstance(
        actions_pb2.MoveInstanceRequest(
            uuid=inst.uuid,
            migration_type="evacuation",
            expected_vm_states=["active", "stopped", "error"],
            action="evacuate",
        )
    )
    await mesh.app.core.idle()
    (mig,) = (await actions.ListMigrations(actions_pb2.ListMigrationsRequest())).migrations
    # The guest stays on h1 (no terminate) but h1 stops counting it; the migration stays
    # `done`, so h1's agent still destroys the guest when it registers again.
    forget = [c for c in first.commands if c.WhichOneof("body") == "forget_evacuated"]
    assert [(c.host, c.forget_evacuated.instance_uuid) for c in forget] == [("h1", inst.uuid)]
    assert forget[0].forget_evacuated.migration_uuid == mig.uuid
    assert "terminate" not in [c.WhichOneof("body") for c in first.commands]
    assert (mig.status, mig.source_compute, mig.dest_compute) == ("done", "h1", "h2")
    assert "forget_evacuated" not in [c.WhichOneof("body") for c in second.commands]
