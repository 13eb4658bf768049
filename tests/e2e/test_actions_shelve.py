"""Shelve, offload and unshelve through the real mesh (shelved_offload_time 0: the server
leaves its host at once): the API view, the fake hypervisor and placement."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.helpers import client, placement_allocations, wait_for_gone, wait_for_status
from tests.e2e.test_actions_resize import action, boot, eventually, hypervisor
from tests.support.mesh import Mesh

pytestmark = pytest.mark.e2e


def test_shelve_offload_unshelve(mesh: Mesh) -> None:
    with client(mesh, "2.77") as c:
        server = boot(c, mesh, "e2e-shelve")
        sid = server["id"]
        assert placement_allocations(mesh, sid)

        assert action(c, sid, {"shelve": None}).status_code == 202
        offloaded = wait_for_status(c, sid, "SHELVED_OFFLOADED", "ERROR")
        assert offloaded["status"] == "SHELVED_OFFLOADED", offloaded.get("fault")
        assert offloaded["OS-EXT-SRV-ATTR:host"] is None
        # An offloaded server holds nothing: no guest, no allocation.
        assert placement_allocations(mesh, sid) == {}

        def gone() -> None:
            assert sid not in hypervisor(mesh)[0]

        eventually(gone)

        resp = action(c, sid, {"unshelve": {"availability_zone": "nova"}})
        assert resp.status_code == 202, resp.text
        active = wait_for_status(c, sid, "ACTIVE", "ERROR")
        assert active["status"] == "ACTIVE", active.get("fault")
        assert active["OS-EXT-SRV-ATTR:host"]
        assert placement_allocations(mesh, sid)

        def back() -> None:
            assert hypervisor(mesh)[0][sid]["power_state"] == 1

        eventually(back)
        actions = c.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
        assert [a["action"] for a in actions][:3] == ["unshelve", "shelve", "create"]
        assert c.delete(f"/v2.1/servers/{sid}").status_code == 204
        wait_for_gone(c, sid)
        assert placement_allocations(mesh, sid) == {}
        # As Nova, the shelve snapshot goes once the server runs again.
        admin = {"X-Auth-Token": "admin:admin"}

        def snapshot_deleted() -> None:
            listed = httpx.get(f"{mesh.image_url}/v2/images", headers=admin, timeout=30).json()
            assert not [i for i in listed["images"] if i.get("instance_uuid") == sid]

        eventually(snapshot_deleted, 30)
