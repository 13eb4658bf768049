"""A live migration as a job in the router: progress on the record, force_complete, abort."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeAlias

import grpc
import pytest
from novamesh.agent.v1 import agent_pb2, live_migration_pb2
from novamesh.cells.live_migrations import LiveControl
from novamesh.cells.live_migrations_servicer import registrar
from novamesh.cells.moves_base import status
from novamesh.cells.testing import FakeAgent, Mesh, node_uuid, start_mesh
from novamesh.cells.v1 import actions_pb2, actions_pb2_grpc, router_pb2
from novamesh.cells.v1 import live_migrations_pb2 as lm_pb2
from novamesh.cells.v1 import live_migrations_pb2_grpc as lm_grpc


class SlowSource(FakeAgent):
    """Holds LiveMigrate unanswered until the test finishes or aborts it."""

    def __init__(self, target: str, hosts: list[str]) -> None:
        super().__init__(target, hosts)
        self.live: agent_pb2.AgentCommand | None = None
        self.started = asyncio.Event()
        self.answered = False

    def _answer(self, command: agent_pb2.AgentCommand) -> None:
        body = command.WhichOneof("body")
        if body == "live_migrate":
            self.live = command
            self.started.set()
            return
        if body == "live_migration_abort":
            self.finish(cancelled=True)
        if body in (
            "live_migration_abort",
            "live_migration_force_complete",
            "post_live_migration_at_destination",
        ):
            self.send(result=agent_pb2.CommandResult(command_id=command.command_id, ok=True))
            return
        super()._answer(command)

    def finish(self, cancelled: bool = False) -> None:
        assert self.live is not None
        self.answered = True
        self.send(
            result=agent_pb2.CommandResult(
                command_id=self.live.command_id,
                instance_uuid=self.live.live_migrate.instance.uuid,
                ok=not cancelled,
                error="live migration aborted" if cancelled else "",
                data={"status": "cancelled"} if cancelled else {},
            )
        )


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path)
    try:
        yield m
    finally:
        await m.close()


@pytest.fixture
async def agent(mesh: Mesh) -> AsyncIterator[SlowSource]:
    source = SlowSource(mesh.target, ["h1", "h2"])
    await source.start()
    try:
        yield source
    finally:
        # A failed test must not leave the router waiting for the migration's answer.
        if source.live is not None and not source.answered:
            source.finish(cancelled=True)
            await mesh.app.core.idle()
        await source.stop()


@pytest.fixture
async def stubs(
    mesh: Mesh,
) -> AsyncIterator[
    tuple[actions_pb2_grpc.CellsActionsServiceAsyncStub, lm_grpc.CellsLiveMigrationServiceAsyncStub]
]:
    assert mesh.app.actions is not None
    server = grpc.aio.server()
    actions_pb2_grpc.add_CellsActionsServiceServicer_to_server(mesh.app.actions, server)
    registrar(LiveControl(mesh.app.core))(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield (
            actions_pb2_grpc.CellsActionsServiceStub(channel),  # type: ignore[misc]
            lm_grpc.CellsLiveMigrationServiceStub(channel),  # type: ignore[misc]
        )
    finally:
        await channel.close(None)
        await server.stop(None)


Stubs: TypeAlias = (
    "tuple[actions_pb2_grpc.CellsActionsServiceAsyncStub, "
    "lm_grpc.CellsLiveMigrationServiceAsyncStub]"
)


async def _migrating(
    mesh: Mesh, actions: actions_pb2_grpc.CellsActionsServiceAsyncStub, agent: SlowSource
) -> tuple[router_pb2.Instance, actions_pb2.Migration]:
    cell = mesh.cells["cell1"]
    mesh.scheduler.hosts = [("h1", cell)]
    (inst,) = await mesh.boot()
    await mesh.wait_for(inst.uuid, "active")
    mesh.scheduler.hosts = [("h2", cell)]
    await actions.MoveInstance(
        actions_pb2.MoveInstanceRequest(
            uuid=inst.uuid,
            migration_type="live-migration",
            expected_vm_states=["active", "paused"],
            action="live-migration",
        )
    )
    await asyncio.wait_for(agent.started.wait(), 30)
    (mig,) = (await actions.ListMigrations(actions_pb2.ListMigrationsRequest())).migrations
    return inst, mig


async def _migration(
    actions: actions_pb2_grpc.CellsActionsServiceAsyncStub,
) -> actions_pb2.Migration:
    (mig,) = (await actions.ListMigrations(actions_pb2.ListMigrationsRequest())).migrations
    return mig


async def test_progress_is_stored_while_running_and_abort_cancels(
    mesh: Mesh, stubs: Stubs, agent: SlowSource
) -> None:
    actions, live = stubs
    inst, mig = await _migrating(mesh, actions, agent)
    assert mig.status == "running" and not mig.HasField("memory_total_bytes")
    agent.send(
        live_migration_progress=live_migration_pb2.LiveMigrationProgress(
            migration_uuid=mig.uuid,
            instance_uuid=inst.uuid,
            host="h1",
            memory_total_bytes=1000,
            memory_processed_bytes=400,
            memory_remaining_bytes=600,
            disk_total_bytes=2000,
            disk_processed_bytes=2000,
        )
    )
    for _ in range(200):
        mig = await _migration(actions)
        if mig.memory_processed_bytes == 400:
            break
        await asyncio.sleep(0.05)
    assert (mig.memory_total_bytes, mig.memory_remaining_bytes) == (1000, 600)
    assert (mig.disk_processed_bytes, mig.disk_remaining_bytes) == (2000, 0)
    # both hosts hold an allocation while it runs
    assert mesh.placement.allocations[mig.uuid] == {node_uuid("h1")}
    assert mesh.placement.allocations[inst.uuid] == {node_uuid("h2")}

    taken = await live.AbortLiveMigration(
        lm_pb2.LiveMigrationRequest(instance_uuid=inst.uuid, migration_id=mig.id)
    )
    assert taken.status == "running"
    await mesh.app.core.idle()
    mig = await _migration(actions)
    assert mig.status == "cancelled"
    shown = await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=inst.uuid))
    assert (shown.host, shown.vm_state, shown.task_state) == ("h1", "active", "")
    # the destination's allocation is gone, the source's is the instance's again
    assert mesh.placement.allocations == {inst.uuid: {node_uuid("h1")}}
    assert agent.commands[-1].WhichOneof("body") == "live_migration_abort"

    # nothing runs any more: the server is not migrating (409)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await live.AbortLiveMigration(
            lm_pb2.LiveMigrationRequest(instance_uuid=inst.uuid, migration_id=mig.id)
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_force_complete_reaches_the_source_then_the_move_completes(
    mesh: Mesh, stubs: Stubs, agent: SlowSource
) -> None:
    actions, live = stubs
    inst, mig = await _migrating(mesh, actions, agent)
    # force_complete names no migration of the server: 400; abort: 404
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await live.ForceCompleteLiveMigration(
            lm_pb2.LiveMigrationRequest(instance_uuid=inst.uuid, migration_id=mig.id + 7)
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await live.AbortLiveMigration(
            lm_pb2.LiveMigrationRequest(instance_uuid=inst.uuid, migration_id=mig.id + 7)
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND

    await live.ForceCompleteLiveMigration(
        lm_pb2.LiveMigrationRequest(instance_uuid=inst.uuid, migration_id=mig.id)
    )
    forced = agent.commands[-1]
    assert forced.host == "h1"
    assert forced.live_migration_force_complete.migration_uuid == mig.uuid
    agent.finish()
    await mesh.app.core.idle()
    assert (await _migration(actions)).status == "completed"
    shown = await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=inst.uuid))
    assert (shown.host, shown.task_state) == ("h2", "")
    assert mesh.placement.allocations == {inst.uuid: {node_uuid("h2")}}
    # a completed migration cannot be forced any more
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await live.ForceCompleteLiveMigration(
            lm_pb2.LiveMigrationRequest(instance_uuid=inst.uuid, migration_id=mig.id)
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_abort_of_a_queued_migration_needs_2_65_and_cancels_before_it_runs(
    mesh: Mesh, stubs: Stubs, agent: SlowSource
) -> None:
    actions, _ = stubs
    inst, mig = await _migrating(mesh, actions, agent)
    control = LiveControl(mesh.app.core)
    # put the record back to queued, as if the conductor had not started yet
    _, cell = await mesh.app.core.locate(inst.uuid)
    assert cell is not None
    await mesh.app.core.in_cell(cell, status(mig.uuid, "queued"))
    with pytest.raises(Exception, match="state of instance"):
        await control.abort(inst.uuid, mig.id, allow_queued=False)
    assert await control.abort(inst.uuid, mig.id, allow_queued=True) == "cancelled"
    assert (await _migration(actions)).status == "cancelled"
    # the source's answer no longer matters: the record stays cancelled
    agent.finish(cancelled=True)
    await mesh.app.core.idle()
    assert (await _migration(actions)).status == "cancelled"


async def test_a_server_deleted_while_it_migrates_leaves_no_allocation(
    mesh: Mesh, stubs: Stubs, agent: SlowSource
) -> None:
    actions, _ = stubs
    inst, _ = await _migrating(mesh, actions, agent)
    await mesh.router.DeleteInstance(router_pb2.DeleteInstanceRequest(uuid=inst.uuid))
    await mesh.app.core.idle()
    assert mesh.placement.allocations == {}
    assert (await _migration(actions)).status == "error"
    assert "terminate" in [c.WhichOneof("body") for c in agent.commands]
