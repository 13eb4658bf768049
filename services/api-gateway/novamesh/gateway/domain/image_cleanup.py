"""Images an action leaves behind, removed once the action is over, as Nova does: a snapshot
whose upload failed (still queued or saving), and the shelve snapshot after an unshelve.

The gateway owns the image service, so it watches the instance (through the router) until its
task ends, then deletes. Each watch is a row in the API database, so it outlives the gateway
that started it: a gateway resumes its own rows when it starts again, and with several gateways
one holds each row under a lease it renews while it watches; when a gateway stops (or dies and
its lease runs out) another takes its rows over. Deleting an image twice is harmless, so a
takeover while the first holder is merely slow costs nothing but a repeated look.

Each pass costs two statements for the claim, then per watched row one router read, one image
read and, when the action is over, the delete and one statement to drop the row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

from novamesh.cells.v1 import router_pb2
from novamesh.common.config import Config
from novamesh.common.db import utcnow
from novamesh.gateway.api.errors import ApiError
from novamesh.gateway.db import image_cleanups as store
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.image import build as build_images
from novamesh.gateway.image.domain import Caller

LOG = logging.getLogger(__name__)

# How long an action may run before the watch gives up (seconds), how often a gateway looks
# while it holds watches, how often an idle gateway looks for watches to take over, and how long
# its hold on a row lasts without renewal (longer than the idle look, which renews it).
WATCH_SECONDS = 1800.0
POLL_SECONDS = 1.0
IDLE_SECONDS = 10.0
LEASE_SECONDS = 30.0

SNAPSHOT = "snapshot"
UNSHELVE = "unshelve"
_UPLOAD_PENDING = ("queued", "saving")
_SHELVED = ("shelved", "shelved_offloaded")


def owner_name(cfg: Config) -> str:
    """Stable across restarts of one gateway (so it resumes its own rows at once), distinct
    between gateways (a host name and the gRPC address it serves)."""
    return f"{socket.gethostname()}/{cfg.endpoints.gateway}"


class Watcher:
    """One gateway's share of the watches. A persistent watcher (the gateway's own, started
    with it) keeps looking for rows to take over; one started on demand ends when it holds
    nothing."""

    def __init__(self, deps: Deps, owner: str, *, persistent: bool) -> None:
        self.deps = deps
        self.owner = owner
        self.persistent = persistent
        self.closing = False
        # Watches being recorded: an on-demand watcher must not end before it has seen them.
        self.adding = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done() and not self.closing

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop looking and let any gateway take this one's rows at once."""
        self.closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await store.release(self.deps.sessions, self.owner)
        except Exception:
            LOG.exception("releasing the image cleanup watches of %s failed", self.owner)

    async def _loop(self) -> None:
        held = 1  # a gateway just started looks soon for the watches it left
        while True:
            idle = self.persistent and held == 0 and self.adding == 0
            await asyncio.sleep(IDLE_SECONDS if idle else POLL_SECONDS)
            try:
                held = await self.run_once()
            except Exception:
                LOG.exception("image cleanup pass failed")
                held = 1
            if not self.persistent and held == 0 and self.adding == 0:
                self.closing = True
                return

    async def run_once(self) -> int:
        """Claim this gateway's share and settle what is over; returns how many it still holds."""
        watches = await store.claim(self.deps.sessions, self.owner, LEASE_SECONDS)
        held = 0
        for watch in watches:
            try:
                done = await self._settle(watch)
            except Exception:
                LOG.exception(
                    "cleaning up image %s after an action on %s failed",
                    watch.image_id,
                    watch.instance_uuid,
                )
                done = False
            if done:
                await store.remove(self.deps.sessions, watch.id, self.owner)
            else:
                held += 1
        return held

    async def _settle(self, watch: store.Watch) -> bool:
        """Delete the image when the action is over and left it unwanted; True when the watch
        is finished."""
        if utcnow() >= watch.give_up_at:
            LOG.warning(
                "gave up watching image %s: the action on %s is still running",
                watch.image_id,
                watch.instance_uuid,
            )
            return True
        inst: router_pb2.Instance | None
        try:
            inst = await self.deps.router.get_instance(watch.instance_uuid)
        except ApiError:
            inst = None  # the server is gone: its action is over too
        if inst is not None and inst.task_state:
            return False
        images = build_images(self.deps.cfg, self.deps.sessions)
        image = await images.repo.get(watch.image_id)
        if image is None:
            return True
        if watch.kind == SNAPSHOT:
            unwanted = image.status in _UPLOAD_PENDING
        else:
            # a server deleted meanwhile has no use for its shelve snapshot either
            unwanted = inst is None or inst.vm_state not in _SHELVED
        if unwanted:
            await images.delete(Caller("", watch.project_id, ("admin",)), watch.image_id)
        return True


# The watcher of each running gateway (keyed by its Deps).
_WATCHERS: dict[int, Watcher] = {}


def start(deps: Deps) -> Watcher:
    """The gateway's own watcher: resumes its rows and takes over others' stale ones."""
    watcher = Watcher(deps, owner_name(deps.cfg), persistent=True)
    _WATCHERS[id(deps)] = watcher
    watcher.start()
    return watcher


async def stop(deps: Deps) -> None:
    watcher = _WATCHERS.pop(id(deps), None)
    if watcher is not None:
        await watcher.stop()


def _watcher(deps: Deps) -> Watcher:
    watcher = _WATCHERS.get(id(deps))
    if watcher is None or not watcher.running:
        watcher = Watcher(deps, owner_name(deps.cfg), persistent=False)
        _WATCHERS[id(deps)] = watcher
        watcher.start()
    return watcher


async def _watch(deps: Deps, kind: str, uuid: str, image_id: str, project_id: str) -> None:
    watcher = _watcher(deps)
    watcher.adding += 1
    try:
        await store.add(
            deps.sessions,
            image_id=image_id,
            kind=kind,
            instance_uuid=uuid,
            project_id=project_id,
            watch_seconds=WATCH_SECONDS,
            owner=watcher.owner,
            lease_seconds=LEASE_SECONDS,
        )
    finally:
        watcher.adding -= 1


async def after_snapshot(deps: Deps, uuid: str, image_id: str, project_id: str) -> None:
    """Delete the image if the snapshot ends without making it active."""
    await _watch(deps, SNAPSHOT, uuid, image_id, project_id)


async def after_unshelve(deps: Deps, uuid: str, image_id: str, project_id: str) -> None:
    """Delete the shelve snapshot once the server runs again."""
    await _watch(deps, UNSHELVE, uuid, image_id, project_id)
