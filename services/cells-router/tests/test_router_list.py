"""Lists across cells: one total order, exact limit and marker, filters, a cell that is down."""

from __future__ import annotations

import datetime as dt
import time
import uuid as uuidlib
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from novamesh.cells.db.models import Instance, Tag
from novamesh.cells.testing import Mesh, start_mesh
from novamesh.cells.v1 import router_pb2
from novamesh.common.apidb.models import CellMapping, InstanceMapping
from novamesh.common.db import create_sync_engine
from novamesh.manage import cells as manage_cells
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.ports import free_port

BASE = dt.datetime(2026, 1, 1, 12, 0, 0)


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path, ("cell1", "cell2"))
    try:
        yield m
    finally:
        await m.close()


def _seed(mesh: Mesh, n: int) -> list[tuple[dt.datetime, str, str, str]]:
    """n instances spread over cell1 and cell2; returns (created_at, uuid, name, project)."""
    api = create_sync_engine(mesh.cfg.expand(mesh.cfg.database.api_url))
    seeded = []
    with Session(api) as s, s.begin():
        cell_ids = {c.name: c.id for c in s.scalars(select(CellMapping))}
        for cell in ("cell1", "cell2"):
            engine = create_sync_engine(f"sqlite:///{mesh.cfg.state_dir}/{cell}.db")
            with Session(engine) as cs, cs.begin():
                for i in range(n):
                    if (i % 2 == 0) != (cell == "cell1"):
                        continue
                    uuid = str(uuidlib.UUID(int=i * 7919 + 17))
                    # pairs share a timestamp, so uuid must break the tie
                    created = BASE + dt.timedelta(minutes=i // 2)
                    project = "p1" if i % 3 else "p2"
                    name = f"vm-{i:03d}"
                    row = Instance(
                        uuid=uuid,
                        display_name=name,
                        project_id=project,
                        user_id="u1",
                        vm_state="active" if i % 5 else "stopped",
                        host=f"{cell}-host",
                        created_at=created,
                        updated_at=created + dt.timedelta(hours=1),
                    )
                    row.tags = [Tag(tag="even" if i % 2 == 0 else "odd")]
                    cs.add(row)
                    s.add(
                        InstanceMapping(
                            instance_uuid=uuid,
                            cell_id=cell_ids[cell],
                            project_id=project,
                            user_id="u1",
                        )
                    )
                    seeded.append((created, uuid, name, project))
            engine.dispose()
    api.dispose()
    return seeded


async def _walk(mesh: Mesh, limit: int, **kw: object) -> list[str]:
    seen: list[str] = []
    marker = ""
    while True:
        page = await mesh.router.ListInstances(
            router_pb2.ListInstancesRequest(limit=limit, marker=marker, **kw)  # type: ignore[arg-type]
        )
        assert len(page.instances) <= limit
        seen += [i.uuid for i in page.instances]
        if len(page.instances) < limit:
            return seen
        marker = page.instances[-1].uuid


async def test_paging_across_cells_gives_the_single_cell_order(mesh: Mesh) -> None:
    seeded = _seed(mesh, 23)
    expected = [u for _, u, _, _ in sorted(seeded, key=lambda r: (r[0], r[1]), reverse=True)]

    everything = await mesh.router.ListInstances(router_pb2.ListInstancesRequest())
    assert [i.uuid for i in everything.instances] == expected
    assert {i.cell_name for i in everything.instances} == {"cell1", "cell2"}
    for limit in (1, 4, 7, 23, 50):
        assert await _walk(mesh, limit) == expected


async def test_sort_keys_and_filters(mesh: Mesh) -> None:
    seeded = _seed(mesh, 12)
    by_name = [u for _, u, n, _ in sorted(seeded, key=lambda r: r[2])]
    sort = [router_pb2.SortKey(key="display_name", dir="asc")]
    assert await _walk(mesh, 5, sort=sort) == by_name

    p2 = await mesh.router.ListInstances(
        router_pb2.ListInstancesRequest(filters={"project_id": "p2"})
    )
    assert {i.uuid for i in p2.instances} == {u for _, u, _, p in seeded if p == "p2"}

    named = await mesh.router.ListInstances(router_pb2.ListInstancesRequest(name="vm-00[0-3]"))
    assert sorted(i.name for i in named.instances) == ["vm-000", "vm-001", "vm-002", "vm-003"]

    request = router_pb2.ListInstancesRequest(vm_states=["stopped"])
    stopped = await mesh.router.ListInstances(request)
    assert sorted(i.name for i in stopped.instances) == ["vm-000", "vm-005", "vm-010"]

    odd = await mesh.router.ListInstances(router_pb2.ListInstancesRequest(filters={"tags": "odd"}))
    assert len(odd.instances) == 6 and all(i.tags == ["odd"] for i in odd.instances)

    since = Timestamp()
    since.FromDatetime((BASE + dt.timedelta(hours=1, minutes=4)).replace(tzinfo=dt.UTC))
    recent = await mesh.router.ListInstances(router_pb2.ListInstancesRequest(changes_since=since))
    assert sorted(i.name for i in recent.instances) == [f"vm-{i:03d}" for i in range(8, 12)]


async def test_bad_input_is_invalid_argument(mesh: Mesh) -> None:
    for request in (
        router_pb2.ListInstancesRequest(marker=str(uuidlib.uuid4())),
        router_pb2.ListInstancesRequest(sort=[router_pb2.SortKey(key="nope")]),
        router_pb2.ListInstancesRequest(filters={"nope": "1"}),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await mesh.router.ListInstances(request)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_build_requests_are_merged_and_can_be_the_marker(mesh: Mesh) -> None:
    _seed(mesh, 4)
    mesh.scheduler.delay = 5.0  # they stay build requests for the whole test
    pending = mesh.submit_records(count=2)
    everything = await mesh.router.ListInstances(router_pb2.ListInstancesRequest())
    uuids = [i.uuid for i in everything.instances]
    # created now, so newest first
    assert set(uuids[:2]) == {p.uuid for p in pending} and len(uuids) == 6
    assert await _walk(mesh, 1) == uuids


async def test_a_cell_that_does_not_answer_is_named_not_fatal(mesh: Mesh) -> None:
    _seed(mesh, 4)
    cfg = mesh.cfg
    dead = f"postgresql://nova:x@127.0.0.1:{free_port()}/cell9?connect_timeout=1"
    manage_cells.create_cell(cfg, "cell9", dead, "grpc://cell9.invalid:1")
    await mesh.app.core.registry.refresh()

    started = time.monotonic()
    page = await mesh.router.ListInstances(router_pb2.ListInstancesRequest())
    assert time.monotonic() - started < 3
    assert list(page.unreachable_cells) == ["cell9"]
    assert len(page.instances) == 4


async def test_down_cell_minimal_records_come_first(mesh: Mesh) -> None:
    seeded = _seed(mesh, 6)
    # cell2 goes dark: its mapping now names a database that does not answer
    api = create_sync_engine(mesh.cfg.expand(mesh.cfg.database.api_url))
    with Session(api) as s, s.begin():
        cell2 = s.scalars(select(CellMapping).where(CellMapping.name == "cell2")).one()
        cell2.database_connection = (
            f"postgresql://nova:x@127.0.0.1:{free_port()}/cell2?connect_timeout=1"
        )
    api.dispose()
    await mesh.app.core.registry.refresh()

    plain = await mesh.router.ListInstances(router_pb2.ListInstancesRequest())
    assert list(plain.unreachable_cells) == ["cell2"]
    assert all(not i.unreachable for i in plain.instances) and len(plain.instances) == 3

    page = await mesh.router.ListInstances(router_pb2.ListInstancesRequest(cell_down_support=True))
    minimal = [i for i in page.instances if i.unreachable]
    assert [i.uuid for i in page.instances[: len(minimal)]] == [i.uuid for i in minimal]
    assert {i.uuid for i in minimal} == {u for _, u, _, _ in seeded} - {
        i.uuid for i in plain.instances
    }
    assert all(i.cell_name == "cell2" and i.project_id for i in minimal)

    got = await mesh.router.GetInstance(router_pb2.GetInstanceRequest(uuid=minimal[0].uuid))
    assert got.unreachable and got.cell_name == "cell2"
