"""createImage and createBackup: an image record in the built-in image service (status
queued), then the host uploads the guest's disk as its data; backups rotate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from novamesh.cells.v1 import router_pb2
from novamesh.gateway.api import policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.domain import actions, image_cleanup
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.image import build as build_images
from novamesh.gateway.image.domain import Caller, ImageRecord
from novamesh.gateway.image.repo import ListQuery


@dataclass(frozen=True)
class Backup:
    name: str
    backup_type: str
    rotation: int


async def snapshot(
    deps: Deps,
    who: Identity,
    request_id: str,
    inst: router_pb2.Instance,
    name: str,
    metadata: dict[str, str],
    backup: Backup | None = None,
) -> str:
    """Start a snapshot (or backup) of `inst`; returns the new image's id."""
    key = "createBackup" if backup is not None else "createImage"
    tr = actions.TRANSITIONS[key]
    policy.authorize(who, tr.policy, inst.project_id)
    actions.check(who, inst, tr)
    images = build_images(deps.cfg, deps.sessions)
    body: dict[str, Any] = {
        **metadata,
        "name": name,
        "container_format": inst.image.container_format or "bare",
        "disk_format": inst.image.disk_format or "qcow2",
        "visibility": "private",
        "min_ram": inst.image.min_ram,
        "min_disk": max(inst.image.min_disk, inst.flavor.root_gb),
        "image_type": "backup" if backup is not None else "snapshot",
        "instance_uuid": inst.uuid,
        "base_image_ref": inst.image_ref,
        "user_id": who.user_id,
    }
    if backup is not None:
        body["backup_type"] = backup.backup_type
    created = await images.create(Caller(who.user_id, inst.project_id, ("admin",)), body)
    try:
        await actions.run(deps, who, request_id, inst, key, {"image_id": created.id})
    except Exception:
        await images.delete(Caller(who.user_id, inst.project_id, ("admin",)), created.id)
        raise
    await image_cleanup.after_snapshot(deps, inst.uuid, created.id, inst.project_id)
    if backup is not None:
        await _rotate(deps, inst, backup, keep=created.id)
    return created.id


async def shelve(deps: Deps, who: Identity, request_id: str, inst: router_pb2.Instance) -> None:
    """Shelve: the snapshot image the host uploads is what an unshelve boots from."""
    tr = actions.TRANSITIONS["shelve"]
    policy.authorize(who, tr.policy, inst.project_id)
    actions.check(who, inst, tr)
    images = build_images(deps.cfg, deps.sessions)
    owner = Caller(who.user_id, inst.project_id, ("admin",))
    created = await images.create(
        owner,
        {
            "name": f"{inst.name}-shelved",
            "container_format": inst.image.container_format or "bare",
            "disk_format": inst.image.disk_format or "qcow2",
            "visibility": "private",
            "min_ram": inst.image.min_ram,
            "min_disk": max(inst.image.min_disk, inst.flavor.root_gb),
            "image_type": "snapshot",
            "instance_uuid": inst.uuid,
            "base_image_ref": inst.image_ref,
            "user_id": who.user_id,
        },
    )
    try:
        await actions.run(deps, who, request_id, inst, "shelve", {"image_id": created.id})
    except Exception:
        await images.delete(owner, created.id)
        raise
    await image_cleanup.after_snapshot(deps, inst.uuid, created.id, inst.project_id)


async def _rotate(deps: Deps, inst: router_pb2.Instance, backup: Backup, keep: str) -> None:
    """Keep the newest `rotation` backups of this type (the new one included), as Nova."""
    images = build_images(deps.cfg, deps.sessions)
    admin = Caller("", inst.project_id, ("admin",))
    found: list[ImageRecord] = await images.repo.find(
        admin,
        ListQuery(
            columns={},
            comparisons=[],
            visibility=None,
            member_status="all",
            tags=[],
            properties={
                "instance_uuid": inst.uuid,
                "image_type": "backup",
                "backup_type": backup.backup_type,
            },
            sort=[("created_at", "desc"), ("id", "desc")],
        ),
    )
    others = [i for i in found if i.id != keep]
    for old in others[max(0, backup.rotation - 1) :]:
        await images.delete(admin, old.id)
