"""Accepted external events go on to the router (with a volume-extended event's new size from
the volume store); refused ones do not, and a router that cannot take them changes nothing in
the answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import ApiError
from novamesh.gateway.clients.router import GrpcRouter
from novamesh.gateway.db import volumes as store
from novamesh.gateway.domain import server_events as domain
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.testing.harness import Gateway, running

ADMIN = Identity("admin", "admin", ("admin", "member", "reader"))
MISSING = "00000000-0000-0000-0000-000000000042"


class Sender:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[list[domain.Event], dict[str, int]]] = []
        self.fail = fail

    async def deliver(self, events: Sequence[domain.Event], sizes: dict[str, int]) -> None:
        self.sent.append((list(events), dict(sizes)))
        if self.fail:
            raise ApiError("the router is away")


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        await gateway.add_flavor("1", "m1.tiny")
        yield gateway


async def boot(gw: Gateway) -> str:
    body = {"server": {"name": "vm", "imageRef": await gw.add_image(), "flavorRef": "1"}}
    resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=body, token="alice:p1")
    assert resp.status == 202, resp.message
    return str(resp.body["server"]["id"])


async def test_accepted_events_are_handed_on_with_the_volume_size(gw: Gateway) -> None:
    sid = await boot(gw)
    await store.create(
        gw.sessions, store.NewVolume(id="vol-1", project_id="p1", user_id="alice", size=7)
    )
    router = GrpcRouter(gw.cfg.endpoints.router)
    try:
        deps = Deps(gw.cfg, gw.sessions, router)
        sender = Sender()
        events = [
            domain.Event(sid, "power-update", tag="POWER_OFF"),
            domain.Event(sid, "volume-extended", tag="vol-1"),
            domain.Event(MISSING, "network-changed"),
            domain.Event(sid, "volume-extended"),
        ]
        done = await domain.deliver(deps, ADMIN, events, sender)
        assert [e.code for e in done] == [200, 200, 404, 400]
        ((sent, sizes),) = sender.sent
        assert [(e.name, e.tag) for e in sent] == [
            ("power-update", "POWER_OFF"),
            ("volume-extended", "vol-1"),
        ]
        assert sizes == {"vol-1": 7}

        # Nothing accepted: nothing handed on.
        await domain.deliver(deps, ADMIN, [domain.Event(MISSING, "network-changed")], sender)
        assert len(sender.sent) == 1

        # A router that refuses does not change the codes (Nova casts to the host).
        failing = Sender(fail=True)
        again = await domain.deliver(deps, ADMIN, [domain.Event(sid, "network-changed")], failing)
        assert [e.code for e in again] == [200] and len(failing.sent) == 1
    finally:
        await router.close()
