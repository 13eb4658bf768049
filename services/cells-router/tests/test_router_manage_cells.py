"""novamesh-manage against a running router: update/delete cells and hosts, verify and map
instances, archive and purge deleted rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.cells.db.models import Instance, InstanceAction
from novamesh.cells.testing import Mesh, start_mesh
from novamesh.cells.v1 import router_pb2
from novamesh.common.apidb.models import CellMapping, InstanceMapping
from novamesh.common.db import create_sync_engine
from novamesh.manage.main import main
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session


@pytest.fixture
async def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Mesh]:
    monkeypatch.setenv("NOVAMESH__STATE_DIR", str(tmp_path))
    monkeypatch.delenv("NOVAMESH_CONFIG", raising=False)
    m = await start_mesh(tmp_path, ("cell1", "cell2"))
    try:
        yield m
    finally:
        await m.close()


def _count(url: str, model: type, *where: object) -> int:
    engine = create_sync_engine(url)
    try:
        with Session(engine) as s:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]
    finally:
        engine.dispose()


async def _active(mesh: Mesh, host: str, cell: str = "cell1") -> str:
    mesh.scheduler.hosts = [(host, mesh.cells[cell])]
    (inst,) = await mesh.boot()
    await mesh.wait_for(inst.uuid, "active")
    return inst.uuid


async def test_verify_delete_and_archive_an_instance(
    mesh: Mesh, capsys: pytest.CaptureFixture[str]
) -> None:
    await mesh.agent(["h1"])
    uuid = await _active(mesh, "h1")
    cell1 = f"sqlite:///{mesh.cfg.state_dir}/cell1.db"
    api = mesh.cfg.expand(mesh.cfg.database.api_url)
    assert main(["cell_v2", "verify_instance", "--uuid", uuid]) == 0
    assert "cell1" in capsys.readouterr().out
    assert main(["cell_v2", "verify_instance", "--uuid", "nope", "--quiet"]) == 1

    await mesh.router.DeleteInstance(router_pb2.DeleteInstanceRequest(uuid=uuid))
    await mesh.wait_for(uuid, "gone")
    await mesh.app.core.idle()
    assert main(["cell_v2", "verify_instance", "--uuid", uuid]) == 3
    # Deleted before an earlier date: nothing to do.
    assert main(["db", "archive_deleted_rows", "--before", "2000-01-01"]) == 0
    assert main(["db", "archive_deleted_rows", "--until-complete", "--verbose"]) == 1
    out = capsys.readouterr().out
    assert "instances" in out and "API_DB.instance_mappings" in out
    assert _count(cell1, Instance) == 0
    assert _count(cell1, InstanceAction, InstanceAction.instance_uuid == uuid) == 0
    assert _count(api, InstanceMapping, InstanceMapping.instance_uuid == uuid) == 0
    assert main(["cell_v2", "verify_instance", "--uuid", uuid]) == 1
    assert main(["db", "purge"]) == 3
    assert main(["db", "purge", "--all"]) == 1  # nothing left


async def test_delete_host_and_cell_only_when_empty(mesh: Mesh) -> None:
    await mesh.agent(["busy"])
    await mesh.agent(["c2-h1"], cell="cell2")
    await _active(mesh, "busy")
    cell1, cell2 = mesh.cells["cell1"], mesh.cells["cell2"]

    assert main(["cell_v2", "delete_host", "--cell_uuid", cell1, "--host", "busy"]) == 4
    assert main(["cell_v2", "delete_host", "--cell_uuid", cell1, "--host", "c2-h1"]) == 3
    assert main(["cell_v2", "delete_host", "--cell_uuid", cell1, "--host", "ghost"]) == 2
    assert main(["cell_v2", "delete_cell", "--cell_uuid", cell1, "--force"]) == 3
    assert main(["cell_v2", "delete_cell", "--cell_uuid", cell2]) == 2
    assert main(["cell_v2", "delete_host", "--cell_uuid", cell2, "--host", "c2-h1"]) == 0
    assert main(["cell_v2", "delete_cell", "--cell_uuid", cell2]) == 0
    assert main(["cell_v2", "delete_cell", "--cell_uuid", cell2]) == 1


async def test_update_cell_and_map_instances(mesh: Mesh) -> None:
    await mesh.agent(["h1"])
    uuid = await _active(mesh, "h1")
    cell1 = mesh.cells["cell1"]
    api = mesh.cfg.expand(mesh.cfg.database.api_url)
    assert main(["cell_v2", "update_cell", "--cell_uuid", cell1, "--name", "cell2"]) == 2
    assert main(["cell_v2", "update_cell", "--cell_uuid", cell1, "--name", "one", "--disable"]) == 0
    engine = create_sync_engine(api)
    with Session(engine) as s, s.begin():
        cell = s.scalar(select(CellMapping).where(CellMapping.uuid == cell1))
        assert cell is not None and cell.name == "one" and cell.disabled
        s.execute(delete(InstanceMapping).where(InstanceMapping.instance_uuid == uuid))
    engine.dispose()
    assert main(["cell_v2", "map_instances", "--cell_uuid", cell1]) == 0
    assert _count(api, InstanceMapping, InstanceMapping.instance_uuid == uuid) == 1
    assert main(["cell_v2", "update_cell", "--cell_uuid", "nope", "--enable"]) == 1
