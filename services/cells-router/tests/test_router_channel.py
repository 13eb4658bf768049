"""The agent channel: registration, liveness, the host-state feed, events, reconnects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.cells.db.models import ComputeNode, Service
from novamesh.cells.testing import FakeAgent, Mesh, node_uuid, start_mesh
from novamesh.cells.v1 import router_pb2
from novamesh.common.apidb.models import HostMapping
from novamesh.common.db import create_sync_engine
from sqlalchemy import select
from sqlalchemy.orm import Session

HEARTBEAT = 0.2


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path, heartbeat=HEARTBEAT)
    try:
        yield m
    finally:
        await m.close()


async def _next(stream: AsyncIterator[router_pb2.HostStateUpdate]) -> router_pb2.HostStateUpdate:
    return await asyncio.wait_for(anext(stream), 5)


async def test_register_records_services_nodes_and_host_mappings(mesh: Mesh) -> None:
    await mesh.agent(["h1", "h2"])
    cell = create_sync_engine(f"sqlite:///{mesh.cfg.state_dir}/cell1.db")
    api = create_sync_engine(mesh.cfg.expand(mesh.cfg.database.api_url))
    try:
        with Session(cell) as s:
            services = {x.host: x for x in s.scalars(select(Service))}
            nodes = {x.host: x for x in s.scalars(select(ComputeNode))}
        with Session(api) as s:
            mapped = {m.host: m.cell.name for m in s.scalars(select(HostMapping))}
    finally:
        cell.dispose()
        api.dispose()
    assert set(services) == {"h1", "h2"} and services["h1"].binary == "nova-compute"
    assert services["h1"].last_seen_up is not None
    assert nodes["h1"].uuid == node_uuid("h1") and nodes["h1"].vcpus == 16 and nodes["h1"].mapped
    assert mapped == {"h1": "cell1", "h2": "cell1"}


async def test_host_state_feed_snapshot_changes_and_liveness(mesh: Mesh) -> None:
    agent = await mesh.agent(["h1"])
    stream = aiter(mesh.router.WatchHostStates(router_pb2.WatchHostStatesRequest()))
    first = await _next(stream)
    assert first.resources.host == "h1" and first.service_up
    assert first.cell_uuid == mesh.cells["cell1"]

    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    (inst,) = await mesh.boot()
    while True:
        update = await _next(stream)
        if inst.uuid in update.instance_uuids:
            break

    # no heartbeats: down within two intervals (plus one check)
    while True:
        update = await _next(stream)
        if not update.service_up:
            break
    assert update.resources.host == "h1"
    agent.heartbeat()
    while True:
        update = await _next(stream)
        if update.service_up:
            break


async def test_instance_events_follow_a_boot(mesh: Mesh) -> None:
    await mesh.agent(["h1"])
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    events = aiter(mesh.router.WatchInstances(router_pb2.WatchInstancesRequest(project_id="p1")))
    await asyncio.sleep(0.1)  # the subscription is in place before the boot
    (inst,) = await mesh.boot()
    states = []
    while "active" not in states:
        event = await asyncio.wait_for(anext(events), 5)
        assert event.instance.uuid == inst.uuid
        states.append(event.instance.vm_state)
    assert states[0] == "building"


async def test_an_agent_that_reconnects_gets_its_unanswered_commands_again(mesh: Mesh) -> None:
    first = await mesh.agent(["h1"])
    first.behaviour["h1"] = "hang"
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    (inst,) = await mesh.boot()
    for _ in range(200):
        if first.built():
            break
        await asyncio.sleep(0.01)
    sent = next(c for c in first.commands if c.WhichOneof("body") == "build")
    await first.stop()

    again = FakeAgent(mesh.target, ["h1"])
    await again.start()
    try:
        found = await mesh.wait_for(inst.uuid, "active")
        resent = next(c for c in again.commands if c.WhichOneof("body") == "build")
        assert resent.command_id == sent.command_id
        assert found.host == "h1"
    finally:
        await again.stop()
