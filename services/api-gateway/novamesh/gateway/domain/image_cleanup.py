"""Images an action leaves behind, removed once the action is over, as Nova does: a snapshot
whose upload failed (still queued or saving), and the shelve snapshot after an unshelve.

The gateway owns the image service, so it watches the instance (through the router) until its
task ends, then deletes. The watch is best effort: a gateway restart forgets it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from novamesh.gateway.api.errors import ApiError
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.image import build as build_images
from novamesh.gateway.image.domain import Caller

LOG = logging.getLogger(__name__)

_TASKS: set[asyncio.Task[None]] = set()
# How long an action may run before the watch gives up (seconds), and how often it looks.
WATCH_SECONDS = 1800.0
POLL_SECONDS = 1.0


def _spawn(work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.get_running_loop().create_task(work)
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)


def after_snapshot(deps: Deps, uuid: str, image_id: str, project_id: str) -> None:
    """Delete the image if the snapshot ended without making it active."""

    async def failed_upload(status: str | None) -> bool:
        return status in ("queued", "saving")

    _spawn(_watch(deps, uuid, image_id, project_id, failed_upload))


def after_unshelve(deps: Deps, uuid: str, image_id: str, project_id: str) -> None:
    """Delete the shelve snapshot once the server runs again."""

    async def unshelved(_status: str | None) -> bool:
        try:
            inst = await deps.router.get_instance(uuid)
        except ApiError:
            return True  # deleted meanwhile: its snapshot has no use left either
        return inst.vm_state not in ("shelved", "shelved_offloaded")

    _spawn(_watch(deps, uuid, image_id, project_id, unshelved))


async def _watch(
    deps: Deps,
    uuid: str,
    image_id: str,
    project_id: str,
    should_delete: Callable[[str | None], Coroutine[Any, Any, bool]],
) -> None:
    images = build_images(deps.cfg, deps.sessions)
    owner = Caller("", project_id, ("admin",))
    deadline = asyncio.get_running_loop().time() + WATCH_SECONDS
    try:
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            try:
                inst = await deps.router.get_instance(uuid)
            except ApiError:
                inst = None  # the server is gone: its action is over too
            if inst is not None and inst.task_state:
                continue
            image = await images.repo.get(image_id)
            if image is None:
                return
            if await should_delete(image.status):
                await images.delete(owner, image_id)
            return
    except Exception:
        LOG.exception("cleaning up image %s after an action on %s failed", image_id, uuid)
