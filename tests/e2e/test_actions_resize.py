"""Resize and cold migration through the real mesh: the API view, the fake hypervisor's guests,
and placement's allocations after confirm and revert."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import (
    client,
    flavor_and_image,
    placement_allocations,
    wait_for_gone,
    wait_for_status,
)
from tests.support.mesh import Mesh

pytestmark = pytest.mark.e2e

SMALL = "2"  # m1.small: 2048 MB, 1 vCPU, 20 GB


def hypervisor(mesh: Mesh) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fake driver's running guests and the source copies it holds, by instance uuid."""
    guests: dict[str, Any] = {}
    held: dict[str, Any] = {}
    for path in mesh.state_dir.rglob("fake-hypervisor.json"):
        saved = json.loads(path.read_text())
        guests.update({g["uuid"]: g for g in saved.get("guests", [])})
        held.update({g["uuid"]: g for g in saved.get("held", [])})
    return guests, held


def eventually(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
            return
        except (AssertionError, KeyError):
            # The fake hypervisor writes its state file a moment after a change.
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def boot(c: httpx.Client, mesh: Mesh, name: str) -> dict[str, Any]:
    flavor, image = flavor_and_image(mesh)
    server: dict[str, Any] = {"name": name, "imageRef": image, "flavorRef": flavor}
    major, minor = c.headers["X-OpenStack-Nova-API-Version"].split(".")
    if (int(major), int(minor)) >= (2, 37):
        server["networks"] = "auto"
    resp = c.post("/v2.1/servers", json={"server": server})
    assert resp.status_code == 202, resp.text
    server = wait_for_status(c, resp.json()["server"]["id"], "ACTIVE", "ERROR")
    assert server["status"] == "ACTIVE", server.get("fault")
    return server


def action(c: httpx.Client, server_id: str, body: dict[str, Any]) -> httpx.Response:
    return c.post(f"/v2.1/servers/{server_id}/action", json=body)


def providers(allocations: dict[str, Any]) -> dict[str, int]:
    return {rp: a["resources"]["MEMORY_MB"] for rp, a in allocations.items()}


def migration_of(c: httpx.Client, server_id: str) -> dict[str, Any]:
    resp = c.get(
        "/v2.1/os-migrations",
        params={"instance_uuid": server_id},
        headers={"X-OpenStack-Nova-API-Version": "2.80"},
    )
    assert resp.status_code == 200, resp.text
    (mig,) = resp.json()["migrations"]
    return dict(mig)


def test_resize_confirm(mesh: Mesh) -> None:
    with client(mesh, "2.80") as c:
        server = boot(c, mesh, "e2e-resize")
        sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
        before = providers(placement_allocations(mesh, sid))

        resp = action(c, sid, {"resize": {"flavorRef": SMALL}})
        assert resp.status_code == 202, resp.text
        resized = wait_for_status(c, sid, "VERIFY_RESIZE", "ERROR", "ACTIVE")
        assert resized["status"] == "VERIFY_RESIZE", resized.get("fault")
        dest = resized["OS-EXT-SRV-ATTR:host"]
        assert dest != source
        assert resized["flavor"]["original_name"] == "m1.small"

        mig = migration_of(c, sid)
        assert (mig["status"], mig["migration_type"]) == ("finished", "resize")
        assert (mig["source_compute"], mig["dest_compute"]) == (source, dest)
        # Nova's allocations while a resize waits: the source's held by the migration, the
        # new flavor's on the destination by the instance.
        assert providers(placement_allocations(mesh, mig["uuid"])) == before
        now = providers(placement_allocations(mesh, sid))
        assert list(now.values()) == [2048] and now.keys() != before.keys()

        def moved() -> None:
            guests, held = hypervisor(mesh)
            assert guests[sid]["host"] == dest and guests[sid]["memory_mb"] == 2048
            assert held[sid]["host"] == source

        eventually(moved)

        assert action(c, sid, {"confirmResize": None}).status_code == 204
        active = wait_for_status(c, sid, "ACTIVE", "ERROR")
        assert active["status"] == "ACTIVE"
        assert placement_allocations(mesh, mig["uuid"]) == {}
        assert providers(placement_allocations(mesh, sid)) == now
        assert migration_of(c, sid)["status"] == "confirmed"

        def confirmed() -> None:
            _, held = hypervisor(mesh)
            assert sid not in held

        eventually(confirmed)

        actions = c.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
        assert [a["action"] for a in actions][:3] == ["confirmResize", "resize", "create"]
        resize = next(a for a in actions if a["action"] == "resize")
        shown = c.get(f"/v2.1/servers/{sid}/os-instance-actions/{resize['request_id']}")
        events = {e["event"]: e for e in shown.json()["instanceAction"]["events"]}
        assert events["compute_finish_resize"]["result"] == "Success"
        assert events["compute_finish_resize"]["host"] == dest

        assert c.delete(f"/v2.1/servers/{sid}").status_code == 204
        wait_for_gone(c, sid)
        assert placement_allocations(mesh, sid) == {}


def test_resize_revert(mesh: Mesh) -> None:
    with client(mesh, "2.47") as c:
        server = boot(c, mesh, "e2e-revert")
        sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
        before = providers(placement_allocations(mesh, sid))
        assert action(c, sid, {"resize": {"flavorRef": SMALL}}).status_code == 202
        assert wait_for_status(c, sid, "VERIFY_RESIZE", "ERROR")["status"] == "VERIFY_RESIZE"
        mig = migration_of(c, sid)

        resp = action(c, sid, {"revertResize": None})
        assert resp.status_code == 202, resp.text
        back = wait_for_status(c, sid, "ACTIVE", "ERROR")
        assert back["status"] == "ACTIVE", back.get("fault")
        assert back["OS-EXT-SRV-ATTR:host"] == source
        assert back["flavor"]["ram"] != 2048
        assert providers(placement_allocations(mesh, sid)) == before
        assert placement_allocations(mesh, mig["uuid"]) == {}
        assert migration_of(c, sid)["status"] == "reverted"

        def reverted() -> None:
            guests, held = hypervisor(mesh)
            assert guests[sid]["host"] == source and guests[sid]["memory_mb"] != 2048
            assert sid not in held

        eventually(reverted)
        assert c.delete(f"/v2.1/servers/{sid}").status_code == 204
        wait_for_gone(c, sid)


def test_cold_migrate_a_stopped_server(mesh: Mesh) -> None:
    with client(mesh, "2.56") as c:
        server = boot(c, mesh, "e2e-migrate")
        sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
        assert action(c, sid, {"os-stop": None}).status_code == 202
        assert wait_for_status(c, sid, "SHUTOFF", "ERROR")["status"] == "SHUTOFF"
        assert action(c, sid, {"migrate": None}).status_code == 202
        moved = wait_for_status(c, sid, "VERIFY_RESIZE", "ERROR")
        assert moved["status"] == "VERIFY_RESIZE", moved.get("fault")
        assert moved["OS-EXT-SRV-ATTR:host"] != source
        assert action(c, sid, {"confirmResize": None}).status_code == 204
        stopped = wait_for_status(c, sid, "SHUTOFF", "ERROR")
        assert stopped["status"] == "SHUTOFF"
        assert migration_of(c, sid)["migration_type"] == "migration"
        assert c.delete(f"/v2.1/servers/{sid}").status_code == 204
        wait_for_gone(c, sid)


def test_delete_while_waiting_for_confirm_leaves_nothing(mesh: Mesh) -> None:
    with client(mesh, "2.80") as c:
        sid = boot(c, mesh, "e2e-resize-delete")["id"]
        assert action(c, sid, {"resize": {"flavorRef": SMALL}}).status_code == 202
        assert wait_for_status(c, sid, "VERIFY_RESIZE", "ERROR")["status"] == "VERIFY_RESIZE"
        mig = migration_of(c, sid)
        assert c.delete(f"/v2.1/servers/{sid}").status_code == 204
        wait_for_gone(c, sid)
        assert placement_allocations(mesh, sid) == {}

        def cleaned() -> None:
            assert placement_allocations(mesh, mig["uuid"]) == {}
            guests, held = hypervisor(mesh)
            assert sid not in guests and sid not in held

        eventually(cleaned)
