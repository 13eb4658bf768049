"""An instance's block device mappings become rows of the cell's block_device_mapping table;
the volumes attached to a deleted instance are given back."""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.agent.v1 import block_devices_pb2
from novamesh.cells import convert
from novamesh.cells.testing import Mesh, start_mesh
from novamesh.cells.v1 import router_pb2
from novamesh.common.apidb.models import BuildRequest, Volume
from novamesh.common.db import create_sync_engine
from novamesh.scheduler.v1 import request_spec_pb2
from sqlalchemy import update
from sqlalchemy.orm import Session


def test_new_row_keeps_the_mappings_in_order() -> None:
    inst = router_pb2.Instance(
        uuid="5f5e0a63-5a43-4c77-9d2f-7b4e3f1f0c11",
        project_id="p1",
        user_id="u1",
        block_device_mappings=[
            block_devices_pb2.BlockDevice(
                source_type="image",
                destination_type="local",
                boot_index=0,
                image_id="img",
                delete_on_termination=True,
            ),
            block_devices_pb2.BlockDevice(
                source_type="blank",
                destination_type="local",
                boot_index=-1,
                guest_format="swap",
                volume_size=512,
            ),
        ],
    )
    row = convert.new_row(inst, vm_state="building", task_state=None, host=None, node=None)
    root, swap = row.block_device_mappings
    assert (root.boot_index, root.image_id, root.delete_on_termination) == (0, "img", True)
    assert (swap.boot_index, swap.guest_format, swap.volume_size) == (None, "swap", 512)
    assert root.uuid and swap.uuid and root.uuid != swap.uuid


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path)
    try:
        yield m
    finally:
        await m.close()


def _volume(mesh: Mesh, server: str) -> str:
    volume_id = str(uuidlib.uuid4())
    engine = create_sync_engine(mesh.cfg.expand(mesh.cfg.database.api_url))
    with Session(engine) as s, s.begin():
        s.add(
            Volume(
                id=volume_id,
                project_id="p1",
                user_id="u1",
                size=1,
                status="in-use",
                attached_server=server,
                attached_device="/dev/vda",
            )
        )
    engine.dispose()
    return volume_id


def _status(mesh: Mesh, volume_id: str) -> tuple[str, str | None]:
    engine = create_sync_engine(mesh.cfg.expand(mesh.cfg.database.api_url))
    with Session(engine) as s:
        row = s.get(Volume, volume_id)
        assert row is not None
        found = (row.status, row.attached_server)
    engine.dispose()
    return found


async def _settled(mesh: Mesh, volume_id: str, want: tuple[str, str | None]) -> None:
    """The router gives volumes back just after the instance disappears from view."""
    for _ in range(100):
        if _status(mesh, volume_id) == want:
            return
        await asyncio.sleep(0.02)
    assert _status(mesh, volume_id) == want


async def test_deleting_a_server_gives_its_volumes_back(mesh: Mesh) -> None:
    await mesh.agent(["h1"])
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    (inst,) = await mesh.boot()
    await mesh.wait_for(inst.uuid, "active")
    volume_id = _volume(mesh, inst.uuid)
    await mesh.router.DeleteInstance(router_pb2.DeleteInstanceRequest(uuid=inst.uuid))
    await mesh.wait_for(inst.uuid, "gone")
    await _settled(mesh, volume_id, ("available", None))


async def test_deleting_a_pending_build_gives_its_volumes_back(mesh: Mesh) -> None:
    (inst,) = mesh.submit_records()
    volume_id = _volume(mesh, inst.uuid)
    await mesh.router.DeleteInstance(router_pb2.DeleteInstanceRequest(uuid=inst.uuid))
    assert _status(mesh, volume_id) == ("available", None)


async def test_the_host_gets_the_block_devices_in_its_build(mesh: Mesh) -> None:
    agent = await mesh.agent(["h1"])
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    (inst,) = mesh.submit_records()
    root = block_devices_pb2.BlockDevice(
        source_type="image", destination_type="local", boot_index=0, image_id="img-1"
    )
    inst.block_device_mappings.append(root)
    # What the gateway records is what the conductor builds from.
    engine = create_sync_engine(mesh.cfg.expand(mesh.cfg.database.api_url))
    with Session(engine) as s, s.begin():
        s.execute(
            update(BuildRequest)
            .where(BuildRequest.instance_uuid == inst.uuid)
            .values(instance=inst.SerializeToString())
        )
    engine.dispose()
    await mesh.router.BuildInstances(
        router_pb2.BuildInstancesRequest(
            spec=request_spec_pb2.RequestSpec(project_id="p1"), instances=[inst]
        )
    )
    await mesh.wait_for(inst.uuid, "active")
    build = next(c for c in agent.commands if c.WhichOneof("body") == "build")
    assert list(build.build.instance.block_devices) == [root]


async def test_delete_on_termination_volumes_go_with_the_server(mesh: Mesh) -> None:
    await mesh.agent(["h1"])
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    (inst,) = mesh.submit_records()
    kept, doomed = _volume(mesh, inst.uuid), _volume(mesh, inst.uuid)
    for volume_id, delete in ((kept, False), (doomed, True)):
        inst.block_device_mappings.append(
            block_devices_pb2.BlockDevice(
                source_type="volume",
                destination_type="volume",
                volume_id=volume_id,
                delete_on_termination=delete,
                boot_index=-1,
            )
        )
    engine = create_sync_engine(mesh.cfg.expand(mesh.cfg.database.api_url))
    with Session(engine) as s, s.begin():
        s.execute(
            update(BuildRequest)
            .where(BuildRequest.instance_uuid == inst.uuid)
            .values(instance=inst.SerializeToString())
        )
    engine.dispose()
    await mesh.router.BuildInstances(
        router_pb2.BuildInstancesRequest(
            spec=request_spec_pb2.RequestSpec(project_id="p1"), instances=[inst]
        )
    )
    await mesh.wait_for(inst.uuid, "active")
    await mesh.router.DeleteInstance(router_pb2.DeleteInstanceRequest(uuid=inst.uuid))
    await mesh.wait_for(inst.uuid, "gone")
    await _settled(mesh, kept, ("available", None))
    engine = create_sync_engine(mesh.cfg.expand(mesh.cfg.database.api_url))
    with Session(engine) as s:
        assert s.get(Volume, doomed) is None
    engine.dispose()
