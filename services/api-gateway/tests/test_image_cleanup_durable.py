"""Image cleanup watches live in the API database: a gateway restarted mid-watch resumes them,
and with several gateways one acts on each watch, another taking over when it goes away."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from novamesh.common.apidb import models
from novamesh.common.db import transaction, utcnow
from novamesh.gateway.clients.router import GrpcRouter
from novamesh.gateway.db import image_cleanups as store
from novamesh.gateway.domain import image_cleanup
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.domain.image_cleanup import Watcher
from novamesh.gateway.testing.harness import Gateway, running
from sqlalchemy import select, update

OWNER = "alice:p1"


async def _boot(gw: Gateway) -> str:
    await gw.add_flavor("1", "m1.tiny")
    image = await gw.add_image()
    body = {"server": {"name": "vm", "imageRef": image, "flavorRef": "1"}}
    resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=body, token=OWNER)
    assert resp.status == 202, resp.message
    return str(resp.body["server"]["id"])


async def _image_ids(gw: Gateway) -> set[str]:
    async with gw.sessions() as s:
        return set((await s.scalars(select(models.Image.id))).all())


async def _until(what: str, check: Callable[[], Awaitable[bool]]) -> None:
    deadline = asyncio.get_running_loop().time() + 30.0  # generous: CI's cores are busy
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
async def deps_gw(tmp_path: Path) -> AsyncIterator[tuple[Deps, Gateway]]:
    async with running(tmp_path) as gw:
        router = GrpcRouter(gw.cfg.endpoints.router)
        try:
            yield Deps(gw.cfg, gw.sessions, router), gw
        finally:
            await router.close()


async def test_a_restarted_gateway_resumes_the_watch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first gateway never gets to look before it goes away.
    monkeypatch.setattr(image_cleanup, "POLL_SECONDS", 3600.0)
    async with running(tmp_path) as first:
        sid = await _boot(first)
        resp = await first.rest(
            "servers.ServerAction",
            id=sid,
            path=f"/v2.1/servers/{sid}/action",
            body={"createImage": {"name": "lost"}},
            token=OWNER,
            version="2.45",
        )
        assert resp.status == 202, resp.message
        image_id = resp.body["image_id"]
        server = first.router.instances[sid]
    async with running(tmp_path) as second:
        # the watch and the queued image outlived the first gateway
        assert await second.count(models.ImageCleanup) == 1
        assert image_id in await _image_ids(second)
        # the snapshot is still in flight on its host
        server.task_state = "image_snapshot"
        second.router.instances[sid] = server
        monkeypatch.setattr(image_cleanup, "POLL_SECONDS", 0.05)
        router = GrpcRouter(second.cfg.endpoints.router)
        deps = Deps(second.cfg, second.sessions, router)
        image_cleanup.start(deps)  # what the gateway does when it starts
        try:

            async def looked() -> bool:
                return "GetInstance" in second.router.calls

            await _until("the restarted gateway to look at the server", looked)
            assert image_id in await _image_ids(second)
            # the upload failed: the task ends with the image still queued
            second.router.instances[sid].task_state = ""

            async def cleaned() -> bool:
                return image_id not in await _image_ids(second)

            await _until("the failed snapshot's image to go", cleaned)
            await _until("the watch to be dropped", lambda: _zero(second))
        finally:
            await image_cleanup.stop(deps)
            await router.close()


async def _zero(gw: Gateway) -> bool:
    return await gw.count(models.ImageCleanup) == 0


async def _watch(deps: Deps, sid: str, owner: str, kind: str = image_cleanup.SNAPSHOT) -> str:
    image_id = str(uuid.uuid4())
    async with transaction(deps.sessions) as session:
        session.add(models.Image(id=image_id, name="snap", status="queued", owner="p1"))
    await store.add(
        deps.sessions,
        image_id=image_id,
        kind=kind,
        instance_uuid=sid,
        project_id="p1",
        watch_seconds=600,
        owner=owner,
        lease_seconds=600,
    )
    return image_id


async def test_one_gateway_acts_on_each_watch_and_another_takes_over(
    deps_gw: tuple[Deps, Gateway],
) -> None:
    deps, gw = deps_gw
    sid = await _boot(gw)
    gw.router.instances[sid].task_state = "image_snapshot"
    a = Watcher(deps, "gateway-a", persistent=True)
    b = Watcher(deps, "gateway-b", persistent=True)
    images = {await _watch(deps, sid, "gateway-a") for _ in range(2)}
    assert await b.run_once() == 0  # a holds both
    assert await a.run_once() == 2  # still in flight
    # a goes away without a word; once its lease has run out, b takes its watches over
    async with transaction(deps.sessions) as session:
        await session.execute(
            update(models.ImageCleanup).values(lease_until=utcnow() - dt.timedelta(seconds=1))
        )
    assert await b.run_once() == 2
    assert await a.run_once() == 0
    gw.router.instances[sid].task_state = ""
    assert await b.run_once() == 0
    assert not images & await _image_ids(gw)
    assert await gw.count(models.ImageCleanup) == 0


async def test_a_stopping_gateway_hands_its_watches_over_at_once(
    deps_gw: tuple[Deps, Gateway],
) -> None:
    deps, gw = deps_gw
    sid = await _boot(gw)
    gw.router.instances[sid].task_state = "image_snapshot"
    a = Watcher(deps, "gateway-a", persistent=True)
    b = Watcher(deps, "gateway-b", persistent=True)
    await _watch(deps, sid, "gateway-a")
    assert await b.run_once() == 0
    await a.stop()
    assert await b.run_once() == 1


async def test_an_uploaded_snapshot_is_kept_and_a_stuck_action_given_up(
    deps_gw: tuple[Deps, Gateway],
) -> None:
    deps, gw = deps_gw
    sid = await _boot(gw)
    w = Watcher(deps, "gateway-a", persistent=True)
    uploaded = await _watch(deps, sid, "gateway-a")
    async with transaction(deps.sessions) as session:
        await session.execute(
            update(models.Image).where(models.Image.id == uploaded).values(status="active")
        )
    assert await w.run_once() == 0
    assert uploaded in await _image_ids(gw)
    gw.router.instances[sid].task_state = "image_snapshot"
    stuck = await _watch(deps, sid, "gateway-a")
    async with transaction(deps.sessions) as session:
        await session.execute(
            update(models.ImageCleanup).values(give_up_at=utcnow() - dt.timedelta(seconds=1))
        )
    assert await w.run_once() == 0
    assert stuck in await _image_ids(gw)  # left alone: nobody knows how it ends
    assert await gw.count(models.ImageCleanup) == 0


async def test_the_shelve_snapshot_goes_once_the_server_is_unshelved(
    deps_gw: tuple[Deps, Gateway],
) -> None:
    deps, gw = deps_gw
    sid = await _boot(gw)
    server = gw.router.instances[sid]
    server.vm_state, server.task_state = "shelved_offloaded", "unshelving"
    w = Watcher(deps, "gateway-a", persistent=True)
    image_id = await _watch(deps, sid, "gateway-a", image_cleanup.UNSHELVE)
    assert await w.run_once() == 1
    # an unshelve that failed leaves the server shelved: its snapshot stays
    server.task_state = ""
    assert await w.run_once() == 0
    assert image_id in await _image_ids(gw)
    image_id = await _watch(deps, sid, "gateway-a", image_cleanup.UNSHELVE)
    server.vm_state = "active"
    assert await w.run_once() == 0
    assert image_id not in await _image_ids(gw)


async def test_an_idle_gateway_takes_over_a_dead_ones_watches(
    deps_gw: tuple[Deps, Gateway], monkeypatch: pytest.MonkeyPatch
) -> None:
    deps, gw = deps_gw
    sid = await _boot(gw)
    image_id = await _watch(deps, sid, "gateway-that-died")
    async with transaction(deps.sessions) as session:
        await session.execute(
            update(models.ImageCleanup).values(lease_until=utcnow() - dt.timedelta(seconds=1))
        )
    monkeypatch.setattr(image_cleanup, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(image_cleanup, "IDLE_SECONDS", 0.05)
    image_cleanup.start(deps)
    try:

        async def cleaned() -> bool:
            return image_id not in await _image_ids(gw) and await _zero(gw)

        await _until("the dead gateway's watch to be settled", cleaned)
    finally:
        await image_cleanup.stop(deps)
