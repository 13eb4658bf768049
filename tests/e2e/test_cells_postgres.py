"""The three-cell story on PostgreSQL: a database per cell on one throwaway server, an agent
per cell, Redis. Boots spread, a marker walk equals one sorted list, and one cell's database
made unreachable (connections refused, open ones ended) leaves lists fast with minimal records
from 2.69, then comes back."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import client, flavor_and_image
from tests.e2e.test_cells_multi import Cells, _boot, _detail, _manage, _services, _wait
from tests.support import postgres, redis
from tests.support.mesh import start_mesh

pytestmark = pytest.mark.e2e

NAMES = ("cell1", "cell2", "cell3")


@dataclass
class PgCells:
    cells: Cells
    cluster: postgres.PostgresCluster
    # cell name -> its database's name on the server
    databases: dict[str, str]


@pytest.fixture(scope="module")
def pg() -> Iterator[PgCells]:
    if not redis.available() or not postgres.available():
        pytest.fail("redis-server or PostgreSQL is missing: run tools/install-test-deps.sh")
    root = Path(tempfile.mkdtemp(prefix="novamesh-e2e-pgcells-"))
    cluster = postgres.PostgresCluster()
    cluster.start()
    try:
        urls = {
            name: cluster.create_database(f"novamesh_{name}")
            for name in ("api", "placement", "cell0", *NAMES)
        }
        with redis.running(root / "redis") as server:
            mesh = start_mesh(
                root / "state",
                db_urls={f"{n}_url": urls[n] for n in ("api", "placement", "cell0", "cell1")},
                agent={"heartbeat_interval": 1.0, "host_prefix": "cell1-host", "host_count": 2},
                extra={
                    "redis": {"url": server.url},
                    "cells": {"refresh_interval": 1.0},
                    "quota": {"instances": -1, "cores": -1, "ram": -1},
                },
            )
            found = Cells(mesh, {}, {n: [f"{n}-host-{i}" for i in (1, 2)] for n in NAMES})
            try:
                for name in ("cell2", "cell3"):
                    _manage(
                        mesh,
                        "cell_v2",
                        "create_cell",
                        "--name",
                        name,
                        "--database_connection",
                        urls[name],
                        "--transport-url",
                        f"grpc://{mesh.cfg.endpoints.router}",
                    )
                _manage(mesh, "db", "sync")
                for name in ("cell2", "cell3"):
                    found.start_agent(name)
                with client(mesh, "2.53") as c:
                    every = {h for hosts in found.hosts.values() for h in hosts}
                    _wait(
                        "every cell's hosts up",
                        lambda: every <= {h for h, s in _services(c).items() if s["state"] == "up"},
                    )
                yield PgCells(found, cluster, {n: f"novamesh_{n}" for n in NAMES})
            finally:
                found.stop_agents()
                mesh.stop()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_boots_spread_and_pages_walk_in_one_order(pg: PgCells) -> None:
    cells = pg.cells
    flavor, image = flavor_and_image(cells.mesh)
    with client(cells.mesh, "2.53") as c:
        ids = [_boot(c, flavor, image, f"pg-spread-{i}") for i in range(9)]
        _wait(
            "every boot ACTIVE",
            lambda: {s["id"] for s in _detail(c) if s["status"] == "ACTIVE"} >= set(ids),
        )
        hosts = {s["id"]: s["OS-EXT-SRV-ATTR:host"] for s in _detail(c) if s["id"] in ids}
        assert {cells.cell_of(h) for h in hosts.values()} == set(NAMES)
        # Each row lives in the database of its host's cell, and only there.
        for sid, host in hosts.items():
            for name, database in pg.databases.items():
                rows = pg.cluster.sql(
                    f"SELECT count(*) FROM instances WHERE uuid = '{sid}' AND NOT deleted",
                    database,
                )
                assert int(rows) == (1 if cells.cell_of(host) == name else 0)

        everything = _detail(c)
        walked: list[dict[str, Any]] = []
        marker = None
        while True:
            page = _detail(c, limit=4, **({"marker": marker} if marker else {}))
            walked += page
            if len(page) < 4:
                break
            marker = page[-1]["id"]
        assert [s["id"] for s in walked] == [s["id"] for s in everything]
        keys = [(s["created"], s["id"]) for s in everything]
        assert [k[0] for k in keys] == sorted((k[0] for k in keys), reverse=True)


def test_a_dark_database_answers_fast_and_recovers(pg: PgCells) -> None:
    cells = pg.cells
    with client(cells.mesh, "2.69") as new, client(cells.mesh, "2.1") as old:
        before = {s["id"]: s for s in _detail(new)}
        in_cell3 = [
            sid
            for sid, s in before.items()
            if s["OS-EXT-SRV-ATTR:host"] and cells.cell_of(s["OS-EXT-SRV-ATTR:host"]) == "cell3"
        ]
        assert in_cell3, "the first test left servers in cell3"
        others = [sid for sid in before if sid not in in_cell3]
        pg.cluster.block(pg.databases["cell3"])
        try:
            for _ in range(2):  # the first attempt finds the pool's ended connections
                started = time.monotonic()
                listed = {s["id"]: s for s in _detail(new)}
                assert time.monotonic() - started < 3.0
                assert set(listed) == set(before)
                assert all(listed[sid]["status"] == "UNKNOWN" for sid in in_cell3)
                assert all(listed[sid]["status"] != "UNKNOWN" for sid in others)

            started = time.monotonic()
            assert {s["id"] for s in _detail(old)} == set(others)
            assert time.monotonic() - started < 3.0

            shown = new.get(f"/v2.1/servers/{in_cell3[0]}")
            assert shown.status_code == 200, shown.text
            assert shown.json()["server"]["status"] == "UNKNOWN"
            started = time.monotonic()
            assert old.get(f"/v2.1/servers/{in_cell3[0]}").status_code == 503
            assert time.monotonic() - started < 3.0
        finally:
            pg.cluster.unblock(pg.databases["cell3"])

        def recovered() -> bool:
            listed = {s["id"]: s for s in _detail(new)}
            return all(listed[sid]["status"] != "UNKNOWN" for sid in in_cell3)

        _wait("cell3 back in lists", recovered, timeout=10)
        assert old.get(f"/v2.1/servers/{in_cell3[0]}").status_code == 200
