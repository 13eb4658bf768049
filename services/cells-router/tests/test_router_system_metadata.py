"""System metadata edits merge key by key; an empty value removes its key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.cells.testing import Mesh, start_mesh
from novamesh.cells.v1 import router_pb2


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path)
    try:
        yield m
    finally:
        await m.close()


def _edit(uuid: str, items: dict[str, str]) -> router_pb2.UpdateInstanceRequest:
    return router_pb2.UpdateInstanceRequest(
        uuid=uuid,
        instance=router_pb2.Instance(system_metadata=items),
        update_mask=["system_metadata"],
    )


async def test_merge_and_remove(mesh: Mesh) -> None:
    await mesh.agent(["h1"])
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    (inst,) = await mesh.boot()
    await mesh.wait_for(inst.uuid, "active")
    before = dict(
        (
            await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=inst.uuid))
        ).system_metadata
    )
    await mesh.router.UpdateInstance(_edit(inst.uuid, {"password_0": "abc", "password_1": "def"}))
    updated = await mesh.router.UpdateInstance(_edit(inst.uuid, {"password_1": "", "x": "1"}))
    assert dict(updated.system_metadata) == {**before, "password_0": "abc", "x": "1"}


async def test_merge_before_landing(mesh: Mesh) -> None:
    await mesh.agent(["h1"])
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    mesh.scheduler.delay = 0.3
    (inst,) = await mesh.boot()
    pending = await mesh.router.UpdateInstance(_edit(inst.uuid, {"password_0": "abc"}))
    assert pending.system_metadata["password_0"] == "abc"
    landed = await mesh.wait_for(inst.uuid, "active")
    assert landed.system_metadata["password_0"] == "abc"
