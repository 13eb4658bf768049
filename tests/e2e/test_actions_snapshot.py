"""createImage through the real mesh: the host uploads the guest's disk to the built-in image
service, the image turns active, and the server is back to ACTIVE."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.helpers import client, wait_for_gone, wait_for_status
from tests.e2e.test_actions_resize import action, boot, eventually, hypervisor
from tests.support.mesh import Mesh

pytestmark = pytest.mark.e2e


def test_create_image_uploads_a_snapshot(mesh: Mesh) -> None:
    with client(mesh, "2.45") as c:
        sid = boot(c, mesh, "e2e-snap")["id"]
        resp = action(c, sid, {"createImage": {"name": "e2e-snapshot", "metadata": {"a": "b"}}})
        assert resp.status_code == 202, resp.text
        image_id = resp.json()["image_id"]

        image: dict[str, object] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            got = httpx.get(
                f"{mesh.image_url}/v2/images/{image_id}",
                headers={"X-Auth-Token": "admin:admin"},
                timeout=30,
            )
            assert got.status_code == 200, got.text
            image = got.json()
            if image["status"] == "active":
                break
            time.sleep(0.1)
        assert image["status"] == "active"
        assert image["instance_uuid"] == sid and image["image_type"] == "snapshot"
        assert image["visibility"] == "private" and image["a"] == "b"
        data = httpx.get(
            f"{mesh.image_url}/v2/images/{image_id}/file",
            headers={"X-Auth-Token": "admin:admin"},
            timeout=30,
        )
        assert data.content.startswith(b"QFI\xfb")
        assert wait_for_status(c, sid, "ACTIVE", "ERROR")["status"] == "ACTIVE"

        def recorded() -> None:
            assert image_id in hypervisor(mesh)[0][sid]["snapshots"]

        eventually(recorded)
        assert c.delete(f"/v2.1/servers/{sid}").status_code == 204
        wait_for_gone(c, sid)
        # Other tests pick the first active image they see: leave none of ours behind.
        gone = httpx.delete(
            f"{mesh.image_url}/v2/images/{image_id}",
            headers={"X-Auth-Token": "admin:admin"},
            timeout=30,
        )
        assert gone.status_code == 204
