"""Cells v2 for real, through Envoy: three cells, each with its own database and agent, on a
Redis-backed mesh. Boots spread across cells, a marker walk equals one sorted list, a dark
cell, os-services, an agent killed with builds in flight, deletes racing builds."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import client, flavor_and_image, placement_allocations, wait_for_gone
from tests.support import redis
from tests.support.mesh import Mesh, start_mesh
from tests.support.ports import free_port

pytestmark = pytest.mark.e2e

HEARTBEAT = 1.0
BIN = Path(sys.executable).parent


@dataclass
class Cells:
    mesh: Mesh
    # cell name -> database file
    dbs: dict[str, Path]
    # cell name -> the hosts of its agent
    hosts: dict[str, list[str]]
    agents: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def cell_of(self, host: str) -> str:
        return next(c for c, hosts in self.hosts.items() if host in hosts)

    def start_agent(self, cell: str, spawn_seconds: float = 0.0) -> None:
        env = {
            **os.environ,
            "NOVAMESH__CELLS__CELL": cell,
            "NOVAMESH__AGENT__HOST_PREFIX": f"{cell}-host",
            "NOVAMESH__AGENT__HOST_COUNT": str(len(self.hosts[cell])),
            "NOVAMESH__AGENT__SPAWN_SECONDS": str(spawn_seconds),
            "NOVAMESH__ENDPOINTS__AGENT": f"127.0.0.1:{free_port()}",
        }
        with (self.mesh.state_dir / "logs" / f"agent-{cell}.log").open("ab") as log:
            self.agents[cell] = subprocess.Popen(
                [str(BIN / "novamesh-agent"), "--config", str(self.mesh.config_file)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill_agent(self, cell: str) -> None:
        proc = self.agents.pop(cell)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_agents(self) -> None:
        for cell in list(self.agents):
            proc = self.agents.pop(cell)
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _manage(mesh: Mesh, *args: str) -> str:
    out = subprocess.run(
        [str(BIN / "novamesh-manage"), "--config", str(mesh.config_file), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def _services(c: httpx.Client) -> dict[str, dict[str, Any]]:
    resp = c.get("/v2.1/os-services", params={"binary": "nova-compute"})
    assert resp.status_code == 200, resp.text
    return {s["host"]: s for s in resp.json()["services"]}


def _wait(what: str, check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def cells() -> Iterator[Cells]:
    if not redis.available():
        pytest.fail("redis-server is not installed: run tools/install-test-deps.sh")
    root = Path(tempfile.mkdtemp(prefix="novamesh-e2e-cells-"))
    state = root / "state"
    with redis.running(root / "redis") as server:
        mesh = start_mesh(
            state,
            agent={"heartbeat_interval": HEARTBEAT, "host_prefix": "cell1-host", "host_count": 2},
            extra={
                "redis": {"url": server.url},
                "cells": {"refresh_interval": 1.0},
                "quota": {"instances": -1, "cores": -1, "ram": -1},
            },
        )
        found = Cells(
            mesh,
            {name: state / f"{name}.db" for name in ("cell1", "cell2", "cell3")},
            {name: [f"{name}-host-{i}" for i in (1, 2)] for name in ("cell1", "cell2", "cell3")},
        )
        try:
            for name in ("cell2", "cell3"):
                _manage(
                    mesh,
                    "cell_v2",
                    "create_cell",
                    "--name",
                    name,
                    "--database_connection",
                    f"sqlite:///{found.dbs[name]}",
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
            yield found
        finally:
            found.stop_agents()
            mesh.stop()
            shutil.rmtree(root, ignore_errors=True)


def _boot(c: httpx.Client, flavor: str, image: str, name: str) -> str:
    resp = c.post(
        "/v2.1/servers",
        # Every client here speaks 2.37 or later, where networks is required.
        json={"server": {"name": name, "imageRef": image, "flavorRef": flavor, "networks": "none"}},
    )
    assert resp.status_code == 202, resp.text
    return str(resp.json()["server"]["id"])


def _detail(c: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    resp = c.get("/v2.1/servers/detail", params=params)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["servers"])


def test_boots_spread_across_cells_and_pages_walk_in_one_order(cells: Cells) -> None:
    flavor, image = flavor_and_image(cells.mesh)
    with client(cells.mesh, "2.53") as c:
        ids = [_boot(c, flavor, image, f"spread-{i}") for i in range(9)]
        _wait(
            "every boot ACTIVE",
            lambda: {s["id"] for s in _detail(c) if s["status"] == "ACTIVE"} >= set(ids),
        )
        hosts = {s["id"]: s["OS-EXT-SRV-ATTR:host"] for s in _detail(c) if s["id"] in ids}
        assert {cells.cell_of(h) for h in hosts.values()} == {"cell1", "cell2", "cell3"}

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
        created = [s["created"] for s in everything]
        assert created == sorted(created, reverse=True)


def test_os_services_up_down_and_disable(cells: Cells) -> None:
    with client(cells.mesh, "2.53") as c, client(cells.mesh, "2.1") as old:
        found = _services(c)
        assert set(found) >= {h for hosts in cells.hosts.values() for h in hosts}
        svc = found["cell2-host-1"]
        assert svc["state"] == "up" and svc["zone"] == "nova" and len(svc["id"]) == 36
        assert isinstance(_services(old)["cell2-host-1"]["id"], int)

        resp = c.put(
            f"/v2.1/os-services/{svc['id']}",
            json={"status": "disabled", "disabled_reason": "maintenance"},
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["service"]["status"] == "disabled"
        resp = old.put(
            "/v2.1/os-services/enable", json={"host": "cell2-host-1", "binary": "nova-compute"}
        )
        assert resp.status_code == 200, resp.text
        assert resp.json() == {
            "service": {"host": "cell2-host-1", "binary": "nova-compute", "status": "enabled"}
        }
        assert c.put(f"/v2.1/os-services/{svc['id']}", json={}).status_code == 400
        assert c.put("/v2.1/os-services/not-a-uuid", json={"forced_down": True}).status_code == 400


def test_agent_killed_with_builds_in_flight_finishes_each_exactly_once(cells: Cells) -> None:
    flavor, image = flavor_and_image(cells.mesh)
    with client(cells.mesh, "2.53") as c:
        # A slower cell3 agent, so that builds are still spawning when it is killed.
        cells.kill_agent("cell3")
        _wait(
            "cell3 down",
            lambda: all(_services(c)[h]["state"] == "down" for h in cells.hosts["cell3"]),
        )
        cells.start_agent("cell3", spawn_seconds=3.0)
        _wait(
            "cell3 back up",
            lambda: all(_services(c)[h]["state"] == "up" for h in cells.hosts["cell3"]),
        )
        # Only cell3's hosts take builds now.
        disabled = [s["id"] for h, s in _services(c).items() if cells.cell_of(h) != "cell3"]
        for sid in disabled:
            assert c.put(f"/v2.1/os-services/{sid}", json={"status": "disabled"}).status_code == 200
        try:
            ids = [_boot(c, flavor, image, f"durable-{i}") for i in range(3)]
            _wait(
                "builds spawning on cell3",
                lambda: all(
                    s["OS-EXT-STS:task_state"] == "spawning"
                    and cells.cell_of(s["OS-EXT-SRV-ATTR:host"]) == "cell3"
                    for s in _detail(c)
                    if s["id"] in ids
                ),
            )
            cells.kill_agent("cell3")
            # Down within two heartbeat intervals (plus a check period).
            _wait(
                "cell3 down",
                lambda: all(_services(c)[h]["state"] == "down" for h in cells.hosts["cell3"]),
                timeout=4 * HEARTBEAT + 2,
            )
            cells.start_agent("cell3", spawn_seconds=0.5)
            _wait(
                "the interrupted builds ACTIVE",
                lambda: {s["id"] for s in _detail(c) if s["status"] == "ACTIVE"} >= set(ids),
            )
        finally:
            for sid in disabled:
                c.put(f"/v2.1/os-services/{sid}", json={"status": "enabled"})
    ledger = _ledger(cells, "cell3")
    builds = [r for r in ledger if r["instance_uuid"] in ids and r["ok"]]
    assert sorted(r["instance_uuid"] for r in builds) == sorted(ids)
    assert len({r["command_id"] for r in builds}) == len(builds) == 3


def _ledger(cells: Cells, cell: str) -> list[dict[str, Any]]:
    out = []
    for path in (cells.mesh.state_dir / "agent").glob("*/commands.jsonl"):
        for line in path.read_text().splitlines():
            if line.strip():
                out.append(json.loads(line))
    return out


def test_delete_while_building_leaves_nothing_in_any_cell(cells: Cells) -> None:
    flavor, image = flavor_and_image(cells.mesh)
    with client(cells.mesh, "2.53") as c:
        ids = [_boot(c, flavor, image, f"race-{i}") for i in range(3)]
        for sid in ids:
            assert c.delete(f"/v2.1/servers/{sid}").status_code == 204
        for sid in ids:
            wait_for_gone(c, sid)
    for sid in ids:
        assert placement_allocations(cells.mesh, sid) == {}
        for db in cells.dbs.values():
            with _sqlite(db) as conn:
                live = conn.execute(
                    "SELECT count(*) FROM instances WHERE uuid = ? AND deleted = 0", (sid,)
                ).fetchone()
            assert live == (0,)


def test_a_dark_cell_answers_fast_with_minimal_records(cells: Cells) -> None:
    flavor, image = flavor_and_image(cells.mesh)
    with client(cells.mesh, "2.69") as new, client(cells.mesh, "2.1") as old:
        before = {s["id"]: s for s in _detail(new)}
        in_cell3 = [
            sid
            for sid, s in before.items()
            if s["OS-EXT-SRV-ATTR:host"] and cells.cell_of(s["OS-EXT-SRV-ATTR:host"]) == "cell3"
        ]
        assert in_cell3, "earlier tests left servers in cell3"
        # New builds go elsewhere while cell3 is dark.
        cell3_services = [s["id"] for h, s in _services(new).items() if cells.cell_of(h) == "cell3"]
        for svc in cell3_services:
            assert (
                new.put(f"/v2.1/os-services/{svc}", json={"status": "disabled"}).status_code == 200
            )
        db = cells.dbs["cell3"]
        away = db.with_name("cell3.db.away")
        db.rename(away)
        db.mkdir()  # a path that no longer opens as a database
        try:
            started = time.monotonic()
            listed = {s["id"]: s for s in _detail(new)}
            assert time.monotonic() - started < 3.0
            assert set(listed) == set(before)
            for sid in in_cell3:
                assert listed[sid]["status"] == "UNKNOWN"
            others = [sid for sid in before if sid not in in_cell3]
            assert all(listed[sid]["status"] != "UNKNOWN" for sid in others)

            started = time.monotonic()
            legacy = {s["id"] for s in _detail(old)}
            assert time.monotonic() - started < 3.0
            assert legacy == set(others)

            shown = new.get(f"/v2.1/servers/{in_cell3[0]}")
            assert shown.status_code == 200, shown.text
            assert shown.json()["server"]["status"] == "UNKNOWN"
            assert old.get(f"/v2.1/servers/{in_cell3[0]}").status_code == 503
            # The other cells still take new servers.
            sid = _boot(new, flavor, image, "while-dark")
            _wait(
                "a boot while a cell is dark",
                lambda: new.get(f"/v2.1/servers/{sid}").json()["server"]["status"] == "ACTIVE",
            )
        finally:
            db.rmdir()
            away.rename(db)
        listed = {s["id"]: s for s in _detail(new)}
        assert all(listed[sid]["status"] != "UNKNOWN" for sid in in_cell3)
        for svc in cell3_services:
            new.put(f"/v2.1/os-services/{svc}", json={"status": "enabled"})


class _sqlite:
    def __init__(self, path: Path) -> None:
        import sqlite3

        self.conn = sqlite3.connect(str(path))

    def __enter__(self) -> Any:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()
