"""The database round trips of `GET /servers/detail?limit=1000`: a small constant, whatever the
number of servers. The real gateway in front of the real router and two cell databases (no
Envoy: only SQL is counted here); `make bench` times the same request through the whole mesh.

A page is one RPC from the gateway to the router, which reads each cell's sort keys, merges
them, then loads the winners' whole records with one query per table, and reads the API
database's build requests once. An N+1 anywhere (a query per server, or a gRPC call per server
that queries) would make the counts grow from the small listing to the big one.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid as uuidlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.api import httpbody_pb2
from novamesh.cells.db import models as cell_models
from novamesh.cells.testing import Mesh, start_mesh
from novamesh.common import db, grpcutil
from novamesh.common.apidb.models import CellMapping, InstanceMapping
from novamesh.compute.v1 import api_servers_pb2_grpc, rest_pb2
from novamesh.gateway.clients.router import GrpcRouter
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.main import compute_registrars
from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

CELLS = ("cell1", "cell2")
PROJECT = "p1"
BASE = dt.datetime(2026, 1, 1)


class Statements:
    """Every SQL statement any engine in this process runs, by database file."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def __call__(self, conn: Any, _cursor: Any, _statement: str, *_args: Any) -> None:
        self.seen[Path(str(conn.engine.url.database)).stem] += 1

    def take(self) -> dict[str, int]:
        taken = dict(self.seen)
        self.seen.clear()
        return taken


@pytest.fixture
def statements() -> Iterator[Statements]:
    counter = Statements()
    event.listen(Engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(Engine, "before_cursor_execute", counter)


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path, CELLS)
    try:
        yield m
    finally:
        await m.close()


@pytest.fixture
async def servers(mesh: Mesh) -> AsyncIterator[api_servers_pb2_grpc.ServersRestServiceStub]:
    """The gateway's compute REST face over the mesh's router and API database."""
    url = mesh.cfg.expand(mesh.cfg.database.api_url)
    engine = db.create_async_engine(url)
    router = GrpcRouter(mesh.target)
    deps = Deps(mesh.cfg, db.sessionmaker(engine), router)
    server, port, _ = grpcutil.create_server("127.0.0.1:0", compute_registrars(deps), [])
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield api_servers_pb2_grpc.ServersRestServiceStub(channel)
    finally:
        await channel.close(None)
        await server.stop(None)
        await router.close()
        await engine.dispose()


def seed(mesh: Mesh, first: int, count: int) -> None:
    """`count` servers over the cells, each with the children a detail view shows."""
    api = db.create_sync_engine(mesh.cfg.expand(mesh.cfg.database.api_url))
    with Session(api) as s, s.begin():
        cell_ids = {c.name: c.id for c in s.scalars(select(CellMapping))}
        per_cell: dict[str, list[str]] = {cell: [] for cell in CELLS}
        for i in range(first, first + count):
            per_cell[CELLS[i % len(CELLS)]].append(str(uuidlib.UUID(int=i + 1)))
        for cell, uuids in per_cell.items():
            if not uuids:
                continue
            engine = db.create_sync_engine(f"sqlite:///{mesh.cfg.state_dir}/{cell}.db")
            rows = [
                {
                    "uuid": u,
                    "display_name": f"vm-{u[-4:]}",
                    "project_id": PROJECT,
                    "user_id": "alice",
                    "vm_state": "active",
                    "power_state": 1,
                    "host": f"{cell}-host",
                    "node": f"{cell}-host",
                    "created_at": BASE + dt.timedelta(seconds=int(u[-8:], 16)),
                    "updated_at": BASE,
                }
                for u in uuids
            ]
            flavor = {"id": "1", "name": "m1.tiny", "vcpus": 1, "memory_mb": 512}
            with Session(engine) as cs, cs.begin():
                cs.execute(insert(cell_models.Instance), rows)
                cs.execute(
                    insert(cell_models.InstanceExtra),
                    [{"instance_uuid": u, "flavor": flavor, "image": {"id": "img"}} for u in uuids],
                )
                cs.execute(
                    insert(cell_models.InstanceInfoCache),
                    [
                        {
                            "instance_uuid": u,
                            "network_info": [{"network": "private", "address": "10.0.0.5"}],
                        }
                        for u in uuids
                    ],
                )
                cs.execute(
                    insert(cell_models.InstanceMetadata),
                    [{"instance_uuid": u, "key": "role", "value": "web"} for u in uuids],
                )
                cs.execute(
                    insert(cell_models.Tag), [{"instance_uuid": u, "tag": "t"} for u in uuids]
                )
            engine.dispose()
            s.execute(
                insert(InstanceMapping),
                [
                    {"instance_uuid": u, "cell_id": cell_ids[cell], "project_id": PROJECT}
                    for u in uuids
                ],
            )
    api.dispose()


async def detail_page(stub: api_servers_pb2_grpc.ServersRestServiceStub) -> list[dict[str, Any]]:
    md: tuple[tuple[str, str | bytes], ...] = (
        ("x-envoy-original-path", "/v2.1/servers/detail?limit=1000"),
        ("host", "api.example.com:8774"),
        ("openstack-api-version", "compute 2.96"),
        ("x-auth-token", f"alice:{PROJECT}"),
    )
    reply: httpbody_pb2.HttpBody = await stub.ListServersDetail(rest_pb2.RestRequest(), metadata=md)
    servers: list[dict[str, Any]] = json.loads(reply.data)["servers"]
    return servers


async def test_detail_page_round_trips_do_not_grow_with_servers(
    mesh: Mesh,
    servers: api_servers_pb2_grpc.ServersRestServiceStub,
    statements: Statements,
) -> None:
    seed(mesh, 0, 10)
    await detail_page(servers)  # warm: the router's cell registry, the gateway's caches
    statements.take()
    assert len(await detail_page(servers)) == 10
    small = statements.take()

    seed(mesh, 10, 1990)
    statements.take()
    page = await detail_page(servers)
    big = statements.take()
    assert len(page) == 1000
    assert page[0]["metadata"] == {"role": "web"} and page[0]["tags"] == ["t"]

    assert big == small
    # API database: the build requests not yet in a cell, once. Each cell: the page's sort
    # keys, then one query per table for the winners (instances, extra, info cache, metadata,
    # system metadata, tags, faults, volume block device mappings); cell0 (builds that never
    # got a host) only its keys, as none of its rows won. The gateway itself reads nothing.
    assert big == {"api": 1, "cell0": 1, "cell1": 9, "cell2": 9}
