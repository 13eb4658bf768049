"""A resize keeps the request spec's flavor the instance's (quotas count cores and RAM from it),
and its revert puts the old one back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from novamesh.cells.testing import Mesh, start_mesh
from novamesh.cells.v1 import actions_pb2, actions_pb2_grpc, router_pb2
from novamesh.common.apidb.models import RequestSpec
from novamesh.common.db import create_sync_engine
from novamesh.scheduler.v1 import request_spec_pb2
from sqlalchemy import select
from sqlalchemy.orm import Session

BIG = request_spec_pb2.Flavor(id="2", name="m1.small", vcpus=2, memory_mb=2048, root_gb=20)


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path)
    try:
        yield m
    finally:
        await m.close()


def _spec_flavor(mesh: Mesh, uuid: str) -> str:
    engine = create_sync_engine(mesh.cfg.expand(mesh.cfg.database.api_url))
    with Session(engine) as s:
        raw = s.scalar(select(RequestSpec.spec).where(RequestSpec.instance_uuid == uuid))
    engine.dispose()
    assert raw is not None
    return request_spec_pb2.RequestSpec.FromString(raw).flavor.id


async def test_resize_and_revert_keep_the_spec_flavor(mesh: Mesh) -> None:
    assert mesh.app.actions is not None
    server = grpc.aio.server()
    actions_pb2_grpc.add_CellsActionsServiceServicer_to_server(mesh.app.actions, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        actions = actions_pb2_grpc.CellsActionsServiceStub(channel)
        await mesh.agent(["h1", "h2"])
        mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
        (inst,) = await mesh.boot()
        await mesh.wait_for(inst.uuid, "active")
        mesh.scheduler.hosts = [("h2", mesh.cells["cell1"])]
        await actions.MoveInstance(
            actions_pb2.MoveInstanceRequest(
                uuid=inst.uuid,
                migration_type="resize",
                flavor=BIG,
                expected_vm_states=["active"],
                action="resize",
            )
        )
        await mesh.app.core.idle()
        assert _spec_flavor(mesh, inst.uuid) == "2"
        await mesh.router.InstanceAction(
            router_pb2.InstanceActionRequest(
                uuid=inst.uuid, action="revertResize", task_state="resize_reverting"
            )
        )
        await mesh.app.core.idle()
        assert _spec_flavor(mesh, inst.uuid) == "1"
    finally:
        await channel.close(None)
        await server.stop(None)
