"""Live migration and evacuation through the real mesh: the API view, the fake hypervisor,
placement, and the migration records."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import client, placement_allocations, wait_for_gone
from tests.e2e.test_actions_resize import action, boot, eventually, hypervisor
from tests.support.mesh import Mesh

pytestmark = pytest.mark.e2e


def test_live_migrate_then_evacuate_from_a_forced_down_host(mesh: Mesh) -> None:
    with client(mesh, "2.80") as c:
        server = boot(c, mesh, "e2e-live")
        sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
        resp = action(c, sid, {"os-migrateLive": {"host": None, "block_migration": "auto"}})
        assert resp.status_code == 202, resp.text

        def migrated() -> None:
            shown = c.get(f"/v2.1/servers/{sid}").json()["server"]
            assert shown["status"] == "ACTIVE"
            assert shown["OS-EXT-SRV-ATTR:host"] not in (source, None)

        eventually(migrated, 30)
        dest = c.get(f"/v2.1/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"]
        migs = c.get("/v2.1/os-migrations", params={"instance_uuid": sid}).json()["migrations"]
        assert [(m["migration_type"], m["status"]) for m in migs] == [
            ("live-migration", "completed")
        ]
        assert placement_allocations(mesh, migs[0]["uuid"]) == {}
        # server-migrations: nothing in progress, so nothing to force or abort (as Nova, the
        # server not migrating any more answers first: 409)
        mid = migs[0]["id"]
        assert c.get(f"/v2.1/servers/{sid}/migrations").json() == {"migrations": []}
        force = c.post(
            f"/v2.1/servers/{sid}/migrations/{mid}/action", json={"force_complete": None}
        )
        assert force.status_code == 409 and "task_state None" in force.text
        assert c.delete(f"/v2.1/servers/{sid}/migrations/{mid}").status_code == 409
        assert c.delete(f"/v2.1/servers/{sid}/migrations/999999").status_code == 409
        assert len(placement_allocations(mesh, sid)) == 1

        def moved() -> None:
            assert hypervisor(mesh)[0][sid]["host"] == dest

        eventually(moved)

        # Evacuation needs the host down: while it is up Nova says no.
        up = action(c, sid, {"evacuate": {}})
        assert up.status_code == 400 and "still in use" in up.text
        services = c.get(
            "/v2.1/os-services", params={"binary": "nova-compute", "host": dest}
        ).json()["services"]
        (svc,) = services
        down = c.put(f"/v2.1/os-services/{svc['id']}", json={"forced_down": True})
        assert down.status_code == 200, down.text
        try:
            resp = action(c, sid, {"evacuate": {}})
            assert resp.status_code == 200, resp.text
            assert resp.content == b""

            def evacuated() -> None:
                shown = c.get(f"/v2.1/servers/{sid}").json()["server"]
                assert shown["status"] == "ACTIVE"
                assert shown["OS-EXT-SRV-ATTR:host"] not in (dest, None)

            eventually(evacuated, 30)

            # The forced-down host's agent still runs: at its next report it no longer counts
            # the guest (as Nova's resource tracker), though the guest waits for its restart.
            (node,) = [
                h
                for h in c.get("/v2.1/os-hypervisors/detail").json()["hypervisors"]
                if h["service"]["host"] == dest
            ]

            def uncounted() -> None:
                shown = c.get(f"/v2.1/os-hypervisors/{node['id']}").json()["hypervisor"]
                assert (shown["running_vms"], shown["vcpus_used"]) == (0, 0), shown

            eventually(uncounted, 60)
        finally:
            c.put(f"/v2.1/os-services/{svc['id']}", json={"forced_down": False})
        new_host = c.get(f"/v2.1/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"]
        allocations = placement_allocations(mesh, sid)
        assert len(allocations) == 1
        actions = c.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
        assert [a["action"] for a in actions][:2] == ["evacuate", "live-migration"]

        def respawned() -> None:
            assert hypervisor(mesh)[0][sid]["host"] == new_host

        eventually(respawned)
        assert c.delete(f"/v2.1/servers/{sid}").status_code == 204
        wait_for_gone(c, sid)
