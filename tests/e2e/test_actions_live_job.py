"""A live migration caught while it runs, through Envoy: its progress on the server's
migration, abort (the server stays ACTIVE on its source, the destination's allocation goes,
the migration is cancelled) and force_complete (it completes on the destination). The fake
driver is set to take ten minutes per migration, so only these requests end one."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import client, placement_allocations, wait_for_gone
from tests.e2e.test_actions_resize import action, boot, eventually, hypervisor
from tests.support.mesh import Mesh, start_mesh

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def slow_mesh() -> Iterator[Mesh]:
    state = Path(tempfile.mkdtemp(prefix="novamesh-e2e-live-job-"))
    mesh = start_mesh(state / "state", agent={"host_count": 2, "fake_live_migration_seconds": 600})
    try:
        yield mesh
    finally:
        mesh.stop()
        shutil.rmtree(state, ignore_errors=True)


def _running(c: httpx.Client, sid: str) -> dict[str, Any]:
    """Start the live migration; return the server migration once it reported progress."""
    resp = action(c, sid, {"os-migrateLive": {"host": None, "block_migration": "auto"}})
    assert resp.status_code == 202, resp.text
    found: dict[str, Any] = {}

    def reported() -> None:
        migs = c.get(f"/v2.1/servers/{sid}/migrations").json()["migrations"]
        assert len(migs) == 1 and migs[0]["status"] == "running", migs
        assert migs[0]["memory_total_bytes"], migs
        found.update(migs[0])

    eventually(reported, 60)
    return found


def _watch_progress(c: httpx.Client, sid: str, first: dict[str, Any]) -> None:
    mid = first["id"]
    assert (
        first["memory_processed_bytes"] + first["memory_remaining_bytes"]
        == (first["memory_total_bytes"])
    )
    assert first["disk_total_bytes"] > 0

    def advanced() -> None:
        resp = c.get(f"/v2.1/servers/{sid}/migrations/{mid}")
        assert resp.status_code == 200, resp.text
        now = resp.json()["migration"]
        assert now["status"] == "running"
        assert now["memory_processed_bytes"] > first["memory_processed_bytes"]
        assert now["memory_remaining_bytes"] < first["memory_remaining_bytes"]

    eventually(advanced, 60)


def test_a_running_live_migration_shows_progress_and_abort_keeps_it_on_its_source(
    slow_mesh: Mesh,
) -> None:
    with client(slow_mesh, "2.80") as c:
        server = boot(c, slow_mesh, "e2e-live-abort")
        sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
        source_rps = set(placement_allocations(slow_mesh, sid))
        mig = _running(c, sid)
        mid = mig["id"]
        assert (mig["source_compute"], mig["server_uuid"]) == (source, sid)
        _watch_progress(c, sid, mig)
        shown = c.get(f"/v2.1/servers/{sid}").json()["server"]
        assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("MIGRATING", "migrating")
        # while it runs the migration holds the source, the server the destination
        assert set(placement_allocations(slow_mesh, mig["uuid"])) == source_rps
        assert set(placement_allocations(slow_mesh, sid)) - source_rps

        # abort needs 2.24, force_complete 2.22
        with client(slow_mesh, "2.23") as old:
            assert old.delete(f"/v2.1/servers/{sid}/migrations/{mid}").status_code == 404
        assert c.delete(f"/v2.1/servers/{sid}/migrations/999999").status_code == 404
        resp = c.delete(f"/v2.1/servers/{sid}/migrations/{mid}")
        assert resp.status_code == 202, resp.text

        def cancelled() -> None:
            now = c.get(f"/v2.1/servers/{sid}").json()["server"]
            assert (now["status"], now["OS-EXT-STS:task_state"]) == ("ACTIVE", None)
            migs = c.get("/v2.1/os-migrations", params={"instance_uuid": sid}).json()
            assert [m["status"] for m in migs["migrations"]] == ["cancelled"]

        eventually(cancelled, 60)
        assert c.get(f"/v2.1/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"] == source
        assert c.get(f"/v2.1/servers/{sid}/migrations").json() == {"migrations": []}
        gone = c.get(f"/v2.1/servers/{sid}/migrations/{mid}")
        assert gone.status_code == 404 and "not in progress" in gone.text
        assert placement_allocations(slow_mesh, mig["uuid"]) == {}
        assert set(placement_allocations(slow_mesh, sid)) == source_rps

        def stayed() -> None:
            assert hypervisor(slow_mesh)[0][sid]["host"] == source

        eventually(stayed)
        # nothing runs any more: the server is not migrating (409)
        again = c.delete(f"/v2.1/servers/{sid}/migrations/{mid}")
        assert again.status_code == 409, again.text
        actions = c.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
        assert [a["action"] for a in actions][:2] == ["live_migration_cancel", "live-migration"]
        assert c.delete(f"/v2.1/servers/{sid}").status_code == 204
        wait_for_gone(c, sid)


def test_force_complete_finishes_a_running_live_migration_on_its_destination(
    slow_mesh: Mesh,
) -> None:
    with client(slow_mesh, "2.80") as c:
        server = boot(c, slow_mesh, "e2e-live-force")
        sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
        mig = _running(c, sid)
        mid = mig["id"]
        url = f"/v2.1/servers/{sid}/migrations/{mid}/action"
        bad = c.post(url, json={"force_complete": None, "extra": 1})
        assert bad.status_code == 400, bad.text
        missing = c.post(
            f"/v2.1/servers/{sid}/migrations/999999/action", json={"force_complete": None}
        )
        assert missing.status_code == 400, missing.text
        resp = c.post(url, json={"force_complete": None})
        assert resp.status_code == 202, resp.text

        def completed() -> None:
            now = c.get(f"/v2.1/servers/{sid}").json()["server"]
            assert (now["status"], now["OS-EXT-STS:task_state"]) == ("ACTIVE", None)
            assert now["OS-EXT-SRV-ATTR:host"] not in (source, None)
            migs = c.get("/v2.1/os-migrations", params={"instance_uuid": sid}).json()
            assert [m["status"] for m in migs["migrations"]] == ["completed"]

        eventually(completed, 60)
        dest = c.get(f"/v2.1/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"]
        assert placement_allocations(slow_mesh, mig["uuid"]) == {}
        assert len(placement_allocations(slow_mesh, sid)) == 1

        def moved() -> None:
            assert hypervisor(slow_mesh)[0][sid]["host"] == dest

        eventually(moved)
        # a completed migration cannot be forced: the server is not migrating any more
        late = c.post(url, json={"force_complete": None})
        assert late.status_code == 409, late.text
        assert c.delete(f"/v2.1/servers/{sid}").status_code == 204
        wait_for_gone(c, sid)
