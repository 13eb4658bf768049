"""Rescue, password, crash dump, console log and reset-state through the real mesh: the API
view, the fake hypervisor's guest, and the instance actions they leave."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.e2e.helpers import client, wait_for_gone, wait_for_status
from tests.e2e.test_actions_resize import action, boot, eventually, hypervisor
from tests.support.mesh import Mesh

pytestmark = pytest.mark.e2e


def test_rescue_password_crash_dump_console(mesh: Mesh) -> None:
    with client(mesh, "2.84") as c:
        sid = boot(c, mesh, "e2e-guest")["id"]

        resp = action(c, sid, {"rescue": {"adminPass": "rescue-pw"}})
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"adminPass": "rescue-pw"}
        assert wait_for_status(c, sid, "RESCUE", "ERROR")["status"] == "RESCUE"

        def rescued(value: bool) -> Any:
            def check() -> None:
                assert hypervisor(mesh)[0][sid]["rescued"] is value

            return check

        eventually(rescued(True))
        # Nova refuses a password change while rescued.
        assert action(c, sid, {"changePassword": {"adminPass": "x"}}).status_code == 409
        assert action(c, sid, {"unrescue": None}).status_code == 202
        assert wait_for_status(c, sid, "ACTIVE", "ERROR")["status"] == "ACTIVE"
        eventually(rescued(False))

        assert action(c, sid, {"changePassword": {"adminPass": "n3w-pass"}}).status_code == 202
        assert wait_for_status(c, sid, "ACTIVE", "ERROR")["status"] == "ACTIVE"
        digest = hashlib.sha256(b"n3w-pass").hexdigest()

        def password_set() -> None:
            assert hypervisor(mesh)[0][sid]["admin_password_sha256"] == digest

        eventually(password_set)

        assert action(c, sid, {"trigger_crash_dump": None}).status_code == 202

        def dumped() -> None:
            assert hypervisor(mesh)[0][sid]["crash_dumps"] == 1

        eventually(dumped)

        resp = action(c, sid, {"os-getConsoleOutput": {"length": 2}})
        assert resp.status_code == 200, resp.text
        output = resp.json()["output"]
        assert output.count("\n") == 2 and f"{sid} is running" in output
        full = action(c, sid, {"os-getConsoleOutput": None}).json()["output"]
        assert "rescue boot" in full and "NMI" in full

        listed = c.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
        names = [a["action"] for a in listed]
        assert names[:5] == ["trigger_crash_dump", "changePassword", "unrescue", "rescue", "create"]
        rescue = next(a for a in listed if a["action"] == "rescue")
        shown = c.get(f"/v2.1/servers/{sid}/os-instance-actions/{rescue['request_id']}").json()
        (event,) = shown["instanceAction"]["events"]
        assert (event["event"], event["result"]) == ("compute_rescue_instance", "Success")
        assert event["hostId"] and "details" in event

        # an admin puts it in ERROR and back
        assert action(c, sid, {"os-resetState": {"state": "error"}}).status_code == 202
        assert c.get(f"/v2.1/servers/{sid}").json()["server"]["status"] == "ERROR"
        assert action(c, sid, {"os-resetState": {"state": "active"}}).status_code == 202
        assert c.get(f"/v2.1/servers/{sid}").json()["server"]["status"] == "ACTIVE"

        assert c.delete(f"/v2.1/servers/{sid}").status_code == 204
        wait_for_gone(c, sid)
        # 2.21: a deleted server's actions stay readable
        after = c.get(f"/v2.1/servers/{sid}/os-instance-actions")
        assert after.status_code == 200, after.text
        assert after.json()["instanceActions"][0]["action"] == "delete"


def test_rebuild_keeps_host_and_allocation(mesh: Mesh) -> None:
    from tests.e2e.helpers import flavor_and_image, placement_allocations

    with client(mesh, "2.75") as c:
        server = boot(c, mesh, "e2e-rebuild")
        sid, host = server["id"], server["OS-EXT-SRV-ATTR:host"]
        before = placement_allocations(mesh, sid)
        _, image = flavor_and_image(mesh)
        resp = action(
            c,
            sid,
            {
                "rebuild": {
                    "imageRef": image,
                    "name": "e2e-rebuilt",
                    "metadata": {"rebuilt": "yes"},
                    "adminPass": "rebuild-pw",
                    "description": "again",
                }
            },
        )
        assert resp.status_code == 202, resp.text
        shown = resp.json()["server"]
        assert shown["adminPass"] == "rebuild-pw" and shown["name"] == "e2e-rebuilt"
        assert shown["status"] == "REBUILD" and shown["metadata"] == {"rebuilt": "yes"}
        done = wait_for_status(c, sid, "ACTIVE", "ERROR")
        assert done["status"] == "ACTIVE", done.get("fault")
        assert done["OS-EXT-SRV-ATTR:host"] == host and done["description"] == "again"
        assert placement_allocations(mesh, sid) == before

        def respawned() -> None:
            guest = hypervisor(mesh)[0][sid]
            assert guest["host"] == host and guest["power_state"] == 1

        eventually(respawned)
        events = c.get(f"/v2.1/servers/{sid}/os-instance-actions").json()["instanceActions"]
        assert events[0]["action"] == "rebuild"
        assert c.delete(f"/v2.1/servers/{sid}").status_code == 204
        wait_for_gone(c, sid)
