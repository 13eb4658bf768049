"""The late group check: two builds of one anti-affinity group raced onto the same host (as
two scheduler replicas that cannot see each other's picks would send them); one of them fails
there as retryable and lands on its alternate."""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.cells.group_check import ANTI_AFFINITY_VIOLATED
from novamesh.cells.testing import Mesh, start_mesh
from novamesh.cells.v1 import router_pb2
from novamesh.common.apidb import models
from novamesh.common.db import create_sync_engine
from novamesh.scheduler.v1 import request_spec_pb2
from sqlalchemy.orm import Session


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path)
    try:
        yield m
    finally:
        await m.close()


def _group(mesh: Mesh, policy: str, members: list[str]) -> request_spec_pb2.InstanceGroup:
    group_uuid = str(uuidlib.uuid4())
    engine = create_sync_engine(mesh.cfg.expand(mesh.cfg.database.api_url))
    with Session(engine) as s, s.begin():
        s.add(
            models.InstanceGroup(
                uuid=group_uuid,
                name="g",
                user_id="u1",
                project_id="p1",
                policies=[models.InstanceGroupPolicy(policy=policy, rules={})],
                members=[models.InstanceGroupMember(instance_uuid=m) for m in members],
            )
        )
    engine.dispose()
    return request_spec_pb2.InstanceGroup(uuid=group_uuid, policy=policy)


async def _build(
    mesh: Mesh, inst: router_pb2.Instance, group: request_spec_pb2.InstanceGroup
) -> None:
    await mesh.router.BuildInstances(
        router_pb2.BuildInstancesRequest(
            spec=request_spec_pb2.RequestSpec(project_id="p1", instance_group=group),
            instances=[inst],
            admin_passwords={inst.uuid: "secret"},
        )
    )


async def test_racing_anti_affinity_builds_end_on_different_hosts(mesh: Mesh) -> None:
    await mesh.agent(["h1", "h2"])
    cell = mesh.cells["cell1"]
    # Both requests are told h1 (with h2 as the alternate).
    mesh.scheduler.hosts = [("h1", cell), ("h2", cell)]
    (first,) = mesh.submit_records(name="a")
    (second,) = mesh.submit_records(name="b")
    group = _group(mesh, "anti-affinity", [first.uuid, second.uuid])
    await asyncio.gather(_build(mesh, first, group), _build(mesh, second, group))
    a = await mesh.wait_for(first.uuid, "active")
    b = await mesh.wait_for(second.uuid, "active")
    # One kept the host both were sent to, the other was rescheduled to its alternate.
    assert {a.host, b.host} == {"h1", "h2"}


async def test_affinity_follows_the_earlier_member(mesh: Mesh) -> None:
    await mesh.agent(["h1", "h2"])
    cell = mesh.cells["cell1"]
    (first,) = mesh.submit_records(name="a")
    (second,) = mesh.submit_records(name="b")
    group = _group(mesh, "affinity", [first.uuid, second.uuid])
    mesh.scheduler.hosts = [("h2", cell)]
    await _build(mesh, first, group)
    assert (await mesh.wait_for(first.uuid, "active")).host == "h2"
    # A scheduler that did not see the first member sends the second to h1 first.
    mesh.scheduler.hosts = [("h1", cell), ("h2", cell)]
    await _build(mesh, second, group)
    assert (await mesh.wait_for(second.uuid, "active")).host == "h2"


async def test_no_alternate_left_is_an_error_that_says_why(mesh: Mesh) -> None:
    await mesh.agent(["h1"])
    cell = mesh.cells["cell1"]
    mesh.scheduler.hosts = [("h1", cell)]
    (first,) = mesh.submit_records(name="a")
    (second,) = mesh.submit_records(name="b")
    group = _group(mesh, "anti-affinity", [first.uuid, second.uuid])
    await _build(mesh, first, group)
    await mesh.wait_for(first.uuid, "active")
    await _build(mesh, second, group)
    failed = await mesh.wait_for(second.uuid, "error")
    assert ANTI_AFFINITY_VIOLATED in failed.fault.message
    assert second.uuid not in mesh.placement.allocations
