"""os-server-external-events acted on through the real mesh: power-update turns a server
SHUTOFF and back, volume-extended grows an attached volume on its host."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from novamesh.common.apidb import models
from novamesh.common.db import create_sync_engine
from sqlalchemy import update
from sqlalchemy.orm import Session

from tests.e2e.helpers import client, wait_for_status
from tests.e2e.test_actions_resize import boot, eventually, hypervisor
from tests.support.mesh import Mesh

pytestmark = pytest.mark.e2e


def send(c: httpx.Client, *events: dict[str, Any]) -> list[dict[str, Any]]:
    resp = c.post("/v2.1/os-server-external-events", json={"events": list(events)})
    assert resp.status_code == 200, resp.text
    body: list[dict[str, Any]] = resp.json()["events"]
    return body


def events_of(c: httpx.Client, server_id: str, action: str) -> list[tuple[str, str]]:
    actions = c.get(f"/v2.1/servers/{server_id}/os-instance-actions").json()["instanceActions"]
    newest = next(a for a in actions if a["action"] == action)
    shown = c.get(f"/v2.1/servers/{server_id}/os-instance-actions/{newest['request_id']}")
    return [(e["event"], e["result"]) for e in shown.json()["instanceAction"]["events"]]


def test_power_update_turns_a_server_off_and_on(mesh: Mesh) -> None:
    with client(mesh, "2.76") as c:
        sid = boot(c, mesh, "e2e-power-update")["id"]
        (answer,) = send(c, {"name": "power-update", "server_uuid": sid, "tag": "POWER_OFF"})
        assert (answer["code"], answer["status"], answer["tag"]) == (200, "completed", "POWER_OFF")
        server = wait_for_status(c, sid, "SHUTOFF", "ERROR")
        assert (server["status"], server["OS-EXT-STS:power_state"]) == ("SHUTOFF", 4)
        eventually(lambda: _assert_power(mesh, sid, 4))

        def stopped_recorded() -> None:
            assert events_of(c, sid, "stop") == [("compute_power_update", "Success")]

        eventually(stopped_recorded)

        send(c, {"name": "power-update", "server_uuid": sid, "tag": "POWER_ON"})
        server = wait_for_status(c, sid, "ACTIVE", "ERROR")
        assert (server["status"], server["OS-EXT-STS:power_state"]) == ("ACTIVE", 1)
        eventually(lambda: _assert_power(mesh, sid, 1))
        assert c.delete(f"/v2.1/servers/{sid}").status_code == 204


def _assert_power(mesh: Mesh, sid: str, power: int) -> None:
    assert hypervisor(mesh)[0][sid]["power_state"] == power


def test_volume_extended_grows_the_attached_volume(mesh: Mesh) -> None:
    # os-volumes is a proxy of before 2.36.
    with client(mesh, "2.35") as old:
        vol = old.post("/v2.1/os-volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
    with client(mesh, "2.51") as c:
        sid = boot(c, mesh, "e2e-volume-extended")["id"]
        body = {"volumeAttachment": {"volumeId": vol}}
        resp = c.post(f"/v2.1/servers/{sid}/os-volume_attachments", json=body)
        assert resp.status_code == 200, resp.text
        # The volume service grows the volume (Cinder's extend; the built-in store has no API
        # for it), then tells the compute API.
        engine = create_sync_engine(mesh.cfg.expand(mesh.cfg.database.api_url))
        with Session(engine) as s, s.begin():
            s.execute(update(models.Volume).where(models.Volume.id == vol).values(size=3))
        engine.dispose()
        (answer,) = send(c, {"name": "volume-extended", "server_uuid": sid, "tag": vol})
        assert answer["code"] == 200

        def grown() -> None:
            assert hypervisor(mesh)[0][sid]["volume_sizes"] == {vol: 3}
            assert events_of(c, sid, "extend_volume") == [("compute_extend_volume", "Success")]

        eventually(grown)
        assert c.delete(f"/v2.1/servers/{sid}").status_code == 204
    with client(mesh, "2.35") as old:
        assert old.get(f"/v2.1/os-volumes/{vol}").json()["volume"]["size"] == 3
