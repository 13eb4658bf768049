"""Every server action refuses the vm_states and task_states Nova refuses it in (409 with
Nova's InstanceInvalidState message), before anything reaches the router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from novamesh.gateway.testing.harness import Gateway, running

ADMIN = "admin:admin"
OWNER = "alice:p1"

# (action body, name in Nova's message, a vm_state it refuses, token, microversion)
CASES: list[tuple[dict[str, Any], str, str, str, str]] = [
    ({"resize": {"flavorRef": "2"}}, "resize", "paused", OWNER, "2.1"),
    ({"confirmResize": None}, "confirmResize", "active", OWNER, "2.1"),
    ({"revertResize": None}, "revertResize", "stopped", OWNER, "2.1"),
    ({"migrate": None}, "migrate", "paused", ADMIN, "2.1"),
    (
        {"os-migrateLive": {"host": None, "block_migration": "auto"}},
        "os-migrateLive",
        "stopped",
        ADMIN,
        "2.25",
    ),
    ({"evacuate": {}}, "evacuate", "paused", ADMIN, "2.14"),
    ({"rebuild": {"imageRef": "IMAGE"}}, "rebuild", "paused", OWNER, "2.1"),
    ({"rescue": None}, "rescue", "paused", OWNER, "2.1"),
    ({"unrescue": None}, "unrescue", "active", OWNER, "2.1"),
    ({"changePassword": {"adminPass": "x"}}, "changePassword", "stopped", OWNER, "2.1"),
    ({"trigger_crash_dump": None}, "trigger_crash_dump", "stopped", OWNER, "2.17"),
    ({"createImage": {"name": "i"}}, "createImage", "rescued", OWNER, "2.1"),
    (
        {"createBackup": {"name": "b", "backup_type": "daily", "rotation": 1}},
        "createBackup",
        "rescued",
        OWNER,
        "2.1",
    ),
    ({"shelve": None}, "shelve", "rescued", OWNER, "2.1"),
    ({"shelveOffload": None}, "shelveOffload", "active", ADMIN, "2.1"),
    ({"unshelve": None}, "unshelve", "active", OWNER, "2.1"),
    ({"restore": None}, "restore", "active", OWNER, "2.1"),
]


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        await gateway.add_flavor("1", "m1.tiny")
        await gateway.add_flavor("2", "m1.small", ram=2048, disk=20)
        yield gateway


async def _server(gw: Gateway) -> tuple[str, str]:
    image = await gw.add_image()
    body = {"server": {"name": "vm", "imageRef": image, "flavorRef": "1"}}
    resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=body, token=OWNER)
    assert resp.status == 202, resp.message
    return str(resp.body["server"]["id"]), image


async def _act(gw: Gateway, sid: str, body: Any, token: str, version: str) -> tuple[int, str]:
    resp = await gw.rest(
        "servers.ServerAction",
        id=sid,
        path=f"/v2.1/servers/{sid}/action",
        body=body,
        token=token,
        version=version,
    )
    return resp.status, resp.message


@pytest.mark.parametrize(("body", "name", "vm_state", "token", "version"), CASES)
async def test_refused_vm_state(
    gw: Gateway, body: dict[str, Any], name: str, vm_state: str, token: str, version: str
) -> None:
    sid, image = await _server(gw)
    if "rebuild" in body:
        body = {"rebuild": {"imageRef": image}}
    gw.router.instances[sid].vm_state = vm_state
    calls = len(gw.router.calls)
    assert await _act(gw, sid, body, token, version) == (
        409,
        f"Cannot '{name}' instance {sid} while it is in vm_state {vm_state}",
    )
    assert "InstanceAction" not in gw.router.calls[calls:]


async def test_a_running_task_refuses_the_next_action(gw: Gateway) -> None:
    sid, _ = await _server(gw)
    gw.router.instances[sid].task_state = "rebooting"
    for body, name in (
        ({"resize": {"flavorRef": "2"}}, "resize"),
        ({"rescue": None}, "rescue"),
        ({"createImage": {"name": "i"}}, "createImage"),
        ({"shelve": None}, "shelve"),
    ):
        assert await _act(gw, sid, body, OWNER, "2.1") == (
            409,
            f"Cannot '{name}' instance {sid} while it is in task_state rebooting",
        )
