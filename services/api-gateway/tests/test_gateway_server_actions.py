"""The server actions beyond power: validation, state preconditions (409), policy (403)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from novamesh.gateway.testing.harness import Gateway, running


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        await gateway.add_flavor("1", "m1.tiny")
        await gateway.add_flavor("2", "m1.small", ram=2048, disk=20)
        await gateway.add_flavor("0", "m1.nodisk", disk=0)
        yield gateway


async def boot(gw: Gateway) -> str:
    image = await gw.add_image()
    body = {"server": {"name": "vm", "imageRef": image, "flavorRef": "1"}}
    resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=body, token="alice:p1")
    assert resp.status == 202, resp.message
    return str(resp.body["server"]["id"])


class Actor:
    def __init__(self, gw: Gateway, sid: str) -> None:
        self.gw, self.sid = gw, sid

    async def __call__(
        self, body: Any, token: str = "alice:p1", version: str | None = None
    ) -> tuple[int, Any]:
        resp = await self.gw.rest(
            "servers.ServerAction",
            id=self.sid,
            path=f"/v2.1/servers/{self.sid}/action",
            body=body,
            token=token,
            version=version,
        )
        return resp.status, resp.body if resp.status < 400 else resp.message


@pytest.fixture
async def act(gw: Gateway) -> Actor:
    return Actor(gw, await boot(gw))


def conflict(sid: str, action: str, state: str, attr: str = "vm_state") -> tuple[int, str]:
    return 409, f"Cannot '{action}' instance {sid} while it is in {attr} {state}"


async def test_rescue_and_unrescue(gw: Gateway, act: Actor) -> None:
    status, body = await act({"rescue": {"adminPass": "pw-1"}})
    assert (status, body) == (200, {"adminPass": "pw-1"})
    assert gw.router.instances[act.sid].vm_state == "rescued"
    assert await act({"rescue": None}) == conflict(act.sid, "rescue", "rescued")
    assert (await act({"rescue": {"password": "x"}}))[0] == 400
    assert await act({"unrescue": None}) == (202, None)
    assert await act({"unrescue": None}) == conflict(act.sid, "unrescue", "active")
    # a generated password when none is given
    status, body = await act({"rescue": None})
    assert status == 200 and len(body["adminPass"]) >= 8
    calls = gw.router.calls
    assert calls.count("InstanceAction") == 3


async def test_change_password_and_crash_dump(gw: Gateway, act: Actor) -> None:
    assert (await act({"changePassword": {}}))[0] == 400
    assert await act({"changePassword": {"adminPass": "new"}}) == (202, None)
    assert await act({"trigger_crash_dump": None}) == (
        400,
        "There is no such action: trigger_crash_dump",
    )
    assert await act({"trigger_crash_dump": None}, version="2.17") == (202, None)
    assert await act({"os-stop": None}) == (202, None)
    assert await act({"trigger_crash_dump": None}, version="2.17") == conflict(
        act.sid, "trigger_crash_dump", "stopped"
    )
    assert await act({"changePassword": {"adminPass": "new"}}) == conflict(
        act.sid, "changePassword", "stopped"
    )


async def test_reset_state_is_for_admins(gw: Gateway, act: Actor) -> None:
    status, message = await act({"os-resetState": {"state": "error"}})
    assert status == 403 and "reset_state" in message
    assert (await act({"os-resetState": {"state": "deleted"}}, token="admin:admin"))[0] == 400
    assert await act({"os-resetState": {"state": "error"}}, token="admin:admin") == (202, None)


async def test_inject_network_info_is_for_admins(gw: Gateway, act: Actor) -> None:
    status, message = await act({"injectNetworkInfo": None})
    assert status == 403 and "inject_network_info" in message
    assert (await act({"injectNetworkInfo": {}}, token="admin:admin"))[0] == 400
    assert await act({"injectNetworkInfo": None}, token="admin:admin") == (202, None)
    # nothing to push into the guest: the server is left as it was
    assert gw.router.instances[act.sid].vm_state == "active"


async def test_resize_checks(gw: Gateway, act: Actor) -> None:
    assert await act({"resize": {"flavorRef": "1"}}) == (
        400,
        "When resizing, instances must change flavor!",
    )
    assert await act({"resize": {"flavorRef": "99"}}) == (
        400,
        "Unable to locate requested flavor.",
    )
    assert (await act({"resize": {"flavorRef": "2", "extra": 1}}))[0] == 400
    assert (await act({"resize": {}}))[0] == 400
    assert (await act({"resize": {"flavorRef": "0"}}))[1].endswith(
        "Resize to zero disk flavor is not allowed."
    )
    assert await act({"confirmResize": None}) == conflict(act.sid, "confirmResize", "active")
    assert await act({"revertResize": None}) == conflict(act.sid, "revertResize", "active")
    assert await act({"os-pause": None}) == (400, "There is no such action: os-pause")
    # a locked server refuses its owner
    await act({"lock": None})
    assert await act({"resize": {"flavorRef": "2"}}) == (409, f"Instance {act.sid} is locked")


async def test_migrate_is_for_admins_and_takes_a_host_from_2_56(gw: Gateway, act: Actor) -> None:
    status, message = await act({"migrate": None})
    assert status == 403 and "os-migrate-server:migrate" in message
    assert (await act({"migrate": {"host": "h1"}}, token="admin:admin"))[0] == 400
    assert (await act({"migrate": {"host": "bad host!"}}, token="admin:admin", version="2.56"))[
        0
    ] == 400


async def test_console_output_validation(gw: Gateway, act: Actor) -> None:
    assert (await act({"os-getConsoleOutput": {"length": "abc"}}))[0] == 400
    assert (await act({"os-getConsoleOutput": {"length": -2}}))[0] == 400
    assert (await act({"os-getConsoleOutput": {"lines": 3}}))[0] == 400
    assert (await act({"os-getConsoleOutput": {"length": 3}}, token="bob:p2"))[0] == 404


async def test_deferred_delete_restore_and_force_delete(gw: Gateway, act: Actor) -> None:
    assert await act({"restore": None}) == conflict(act.sid, "restore", "active")
    gw.cfg.api.reclaim_instance_interval = 60
    path = f"/v2.1/servers/{act.sid}"
    resp = await gw.rest("servers.DeleteServer", id=act.sid, path=path, token="alice:p1")
    assert resp.status == 204
    assert gw.router.instances[act.sid].vm_state == "soft-delete"
    shown = await gw.rest("servers.GetServer", id=act.sid, path=path, token="alice:p1")
    assert shown.body["server"]["status"] == "SOFT_DELETED"
    assert await act({"restore": None}) == (202, None)
    assert gw.router.instances[act.sid].vm_state == "active"
    assert await act({"forceDelete": None}) == (202, None)
    assert act.sid not in gw.router.instances


@pytest.fixture
def no_image_cleanup(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fake router ends actions at once with the image still queued, which the cleanup
    # would (rightly) take for a failed upload.
    from novamesh.gateway.domain import image_cleanup

    monkeypatch.setattr(image_cleanup, "POLL_SECONDS", 3600.0)


@pytest.mark.usefixtures("no_image_cleanup")
async def test_create_image_and_backup_rotation(gw: Gateway, act: Actor) -> None:
    from novamesh.common.apidb import models
    from sqlalchemy import select

    status, body = await act(
        {"createImage": {"name": "snap", "metadata": {"k": "v"}}}, version="2.45"
    )
    assert status == 202 and body["image_id"]
    async with gw.sessions() as s:
        image = await s.scalar(select(models.Image).where(models.Image.id == body["image_id"]))
    assert image is not None and (image.name, image.status, image.visibility) == (
        "snap",
        "queued",
        "private",
    )
    assert image.properties["instance_uuid"] == act.sid and image.properties["k"] == "v"
    resp = await gw.rest(
        "servers.ServerAction",
        id=act.sid,
        path=f"/v2.1/servers/{act.sid}/action",
        body={"createImage": {"name": "snap-2"}},
        token="alice:p1",
    )
    assert resp.status == 202 and "/images/" in resp.headers["location"]
    assert (await act({"createImage": {}}))[0] == 400

    backup = {"createBackup": {"name": "b", "backup_type": "daily", "rotation": 2}}
    ids = [(await act(backup, version="2.45"))[1]["image_id"] for _ in range(3)]
    async with gw.sessions() as s:
        left = set((await s.scalars(select(models.Image.id).where(models.Image.name == "b"))).all())
    assert left == set(ids[1:])
    assert (await act({"createBackup": {"name": "b", "backup_type": "daily"}}))[0] == 400


@pytest.mark.usefixtures("no_image_cleanup")
async def test_shelve_offload_unshelve(gw: Gateway, act: Actor) -> None:
    assert await act({"unshelve": None}) == conflict(act.sid, "unshelve", "active")
    assert await act({"shelve": None}) == (202, None)
    assert gw.router.instances[act.sid].vm_state == "shelved"
    assert await act({"shelve": None}) == conflict(act.sid, "shelve", "shelved")
    # the snapshot the unshelve will boot from
    from novamesh.common.apidb import models
    from sqlalchemy import select

    async with gw.sessions() as s:
        names = (await s.scalars(select(models.Image.name))).all()
    assert "vm-shelved" in names
    status, message = await act({"shelveOffload": None})
    assert status == 403 and "shelve_offload" in message
    # a zone only for an offloaded server (2.77)
    zone = {"unshelve": {"availability_zone": "nova"}}
    assert (await act(zone, version="2.77"))[0] == 409
    assert (await act({"unshelve": {}}, version="2.77"))[0] == 400
    assert await act({"shelveOffload": None}, token="admin:admin") == (202, None)
    assert gw.router.instances[act.sid].vm_state == "shelved_offloaded"
    host = {"unshelve": {"host": "h2"}}
    assert (await act(host, version="2.91"))[0] == 403
    assert await act(zone, version="2.77") == (202, None)
    assert gw.router.instances[act.sid].vm_state == "active"


async def test_rebuild_checks(gw: Gateway, act: Actor) -> None:
    assert (await act({"rebuild": {}}))[0] == 400
    assert (await act({"rebuild": {"imageRef": "x", "bogus": 1}}))[0] == 400
    missing = "00000000-0000-0000-0000-000000000001"
    assert await act({"rebuild": {"imageRef": missing}}) == (
        400,
        f"Image {missing} could not be found.",
    )
    image = await gw.add_image()
    # key_name from 2.54, user_data from 2.57, hostname from 2.90
    assert (await act({"rebuild": {"imageRef": image, "key_name": None}}))[0] == 400
    assert (await act({"rebuild": {"imageRef": image, "hostname": "h"}}, version="2.89"))[0] == 400
    await act({"rescue": None})
    assert await act({"rebuild": {"imageRef": image}}) == conflict(act.sid, "rebuild", "rescued")


async def test_live_migrate_and_evacuate_validation(gw: Gateway, act: Actor) -> None:
    live = {"os-migrateLive": {"host": None, "block_migration": "auto"}}
    status, message = await act(live, version="2.25")
    assert status == 403 and "migrate_live" in message
    admin = "admin:admin"
    assert (await act(live, token=admin))[0] == 400  # "auto" and no disk_over_commit before 2.25
    assert (await act({"os-migrateLive": {"host": None}}, token=admin, version="2.25"))[0] == 400
    forced = {"os-migrateLive": {"host": "h", "block_migration": False, "force": True}}
    assert (await act(forced, token=admin, version="2.68"))[0] == 400
    evacuate = {"evacuate": {"host": "h2"}}
    status, message = await act(evacuate, version="2.14")
    assert status == 403 and "os-evacuate" in message
    assert (await act(evacuate, token=admin))[0] == 400  # onSharedStorage required before 2.14
    both = {"evacuate": {"onSharedStorage": True, "adminPass": "x"}}
    assert await act(both, token=admin) == (400, "admin password can't be changed on existing disk")
    # the string "False" is false, as Nova reads booleans (upstream's own sample sends it)
    not_shared = {"evacuate": {"onSharedStorage": "False", "adminPass": "x"}}
    # (past validation it goes to the router, which this harness does not move servers with)
    assert (await act(not_shared, token=admin))[0] not in (400, 409)
    await act({"pause": None})
    assert await act({"evacuate": {}}, token=admin, version="2.14") == conflict(
        act.sid, "evacuate", "paused"
    )


async def test_a_snapshot_that_never_uploaded_is_deleted(
    gw: Gateway, act: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from novamesh.common.apidb import models
    from novamesh.gateway.domain import image_cleanup
    from sqlalchemy import select

    monkeypatch.setattr(image_cleanup, "POLL_SECONDS", 0.05)
    # the fake router ends the action at once and nobody uploads: the image stays queued
    status, body = await act({"createImage": {"name": "lost"}}, version="2.45")
    assert status == 202
    for _ in range(100):
        async with gw.sessions() as s:
            found = await s.scalar(select(models.Image).where(models.Image.id == body["image_id"]))
        if found is None:
            break
        await asyncio.sleep(0.05)
    assert found is None
