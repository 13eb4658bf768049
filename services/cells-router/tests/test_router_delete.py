"""Deletes: of a running server, of one still building, of one that never got a cell."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from novamesh.cells.db.models import Instance
from novamesh.cells.testing import Mesh, start_mesh
from novamesh.cells.v1 import router_pb2
from novamesh.common.apidb.models import InstanceMapping
from novamesh.common.db import create_sync_engine
from sqlalchemy import select
from sqlalchemy.orm import Session


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path)
    try:
        yield m
    finally:
        await m.close()


def _rows(url: str, uuid: str) -> list[Instance]:
    engine = create_sync_engine(url)
    try:
        with Session(engine) as s:
            return list(s.scalars(select(Instance).where(Instance.uuid == uuid)))
    finally:
        engine.dispose()


def _mapping(mesh: Mesh, uuid: str) -> InstanceMapping | None:
    engine = create_sync_engine(mesh.cfg.expand(mesh.cfg.database.api_url))
    try:
        with Session(engine) as s:
            return s.scalar(select(InstanceMapping).where(InstanceMapping.instance_uuid == uuid))
    finally:
        engine.dispose()


def _cell_url(mesh: Mesh, name: str) -> str:
    return f"sqlite:///{mesh.cfg.state_dir}/{name}.db"


async def _gone(mesh: Mesh, uuid: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=uuid))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_delete_terminates_on_the_host_and_releases_everything(mesh: Mesh) -> None:
    agent = await mesh.agent(["h1"])
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    (inst,) = await mesh.boot()
    await mesh.wait_for(inst.uuid, "active")

    await mesh.router.DeleteInstance(router_pb2.DeleteInstanceRequest(uuid=inst.uuid))
    await mesh.app.core.idle()

    assert agent.terminated() == [inst.uuid]
    await _gone(mesh, inst.uuid)
    assert inst.uuid not in mesh.placement.allocations
    mapping = _mapping(mesh, inst.uuid)
    assert mapping is not None and mapping.queued_for_delete
    (row,) = _rows(_cell_url(mesh, "cell1"), inst.uuid)
    assert row.deleted and row.vm_state == "deleted" and row.deleted_at is not None
    listed = await mesh.router.ListInstances(router_pb2.ListInstancesRequest())
    assert list(listed.instances) == []
    listed = await mesh.router.ListInstances(router_pb2.ListInstancesRequest(include_deleted=True))
    assert [(i.uuid, i.deleted) for i in listed.instances] == [(inst.uuid, True)]
    # a second delete is a 404, not a second terminate
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await mesh.router.DeleteInstance(router_pb2.DeleteInstanceRequest(uuid=inst.uuid))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_delete_while_the_host_is_building(mesh: Mesh) -> None:
    agent = await mesh.agent(["h1", "h2"])
    agent.behaviour["h1"] = "hang"
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"]), ("h2", mesh.cells["cell1"])]
    (inst,) = await mesh.boot()
    for _ in range(200):
        if agent.built():
            break
        await asyncio.sleep(0.01)

    await mesh.router.DeleteInstance(router_pb2.DeleteInstanceRequest(uuid=inst.uuid))
    await asyncio.wait_for(mesh.app.core.idle(), 5)

    await _gone(mesh, inst.uuid)
    assert agent.terminated() == [inst.uuid]
    assert agent.built() == [inst.uuid]  # no reschedule of a deleted instance
    assert inst.uuid not in mesh.placement.allocations
    (row,) = _rows(_cell_url(mesh, "cell1"), inst.uuid)
    assert row.deleted and row.vm_state == "deleted"


async def test_delete_before_it_lands_leaves_nothing_anywhere(mesh: Mesh) -> None:
    agent = await mesh.agent(["h1"])
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    mesh.scheduler.delay = 0.3
    (inst,) = await mesh.boot()

    await mesh.router.DeleteInstance(router_pb2.DeleteInstanceRequest(uuid=inst.uuid))
    await _gone(mesh, inst.uuid)
    await asyncio.wait_for(mesh.app.core.idle(), 5)

    assert mesh.scheduler.calls  # it was scheduled (and claimed) after all
    assert inst.uuid not in mesh.placement.allocations
    assert agent.built() == []
    assert _mapping(mesh, inst.uuid) is None
    for cell in ("cell0", "cell1"):
        assert _rows(_cell_url(mesh, cell), inst.uuid) == []
    listed = await mesh.router.ListInstances(router_pb2.ListInstancesRequest())
    assert list(listed.instances) == []


async def test_delete_on_a_host_with_no_agent_is_local(mesh: Mesh) -> None:
    agent = await mesh.agent(["h1"])
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    (inst,) = await mesh.boot()
    await mesh.wait_for(inst.uuid, "active")
    await agent.stop()
    for _ in range(200):
        if not mesh.app.core.hub.connected("h1"):
            break
        await asyncio.sleep(0.01)

    await mesh.router.DeleteInstance(router_pb2.DeleteInstanceRequest(uuid=inst.uuid))
    await _gone(mesh, inst.uuid)
    assert inst.uuid not in mesh.placement.allocations
    assert agent.terminated() == []


async def test_deleting_an_unknown_instance_is_not_found(mesh: Mesh) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await mesh.router.DeleteInstance(
            router_pb2.DeleteInstanceRequest(uuid="00000000-1111-2222-3333-444444444444")
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
