"""The deprecated os-volumes proxy (up to 2.35) over the built-in volume record store: create,
list, show and delete volume records, so os-volume_attachments has something to attach
without Cinder. A record is only bookkeeping: the block device behind it is the driver's
business (the libvirt driver's block storage backend).
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Sequence

from novamesh.common.apidb import models
from novamesh.gateway.api import errors, policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.db import volumes as store
from novamesh.gateway.domain.deps import Deps

MAX_VERSION = "2.35"

for _op, _desc in [
    ("list", "List volumes (deprecated proxy)"),
    ("detail", "List volumes with details (deprecated proxy)"),
    ("show", "Show a volume (deprecated proxy)"),
    ("create", "Create a volume (deprecated proxy)"),
    ("delete", "Delete a volume (deprecated proxy)"),
]:
    policy.register(f"os_compute_api:os-volumes:{_op}", "rule:admin_or_owner", _desc)


def not_found(volume_id: str) -> errors.NotFound:
    return errors.NotFound(f"Volume {volume_id} could not be found.")


async def find(deps: Deps, who: Identity, volume_id: str) -> models.Volume:
    row = await store.get(deps.sessions, volume_id)
    if row is None or (not who.is_admin and row.project_id != who.project_id):
        raise not_found(volume_id)
    return await _reconciled(deps, row)


async def _reconciled(deps: Deps, row: models.Volume) -> models.Volume:
    """A volume still marked attached to a server that is gone is available again.

    Deleting a server does not tell the volume store; the first look at one of its volumes
    afterwards (show, attach, delete) does the bookkeeping, with one GetInstance.
    """
    if not row.attached_server or row.status == "available":
        return row
    try:
        inst = await deps.router.get_instance(row.attached_server)
        if not inst.deleted:
            return row
    except errors.NotFound:
        pass
    released = await store.move(
        deps.sessions,
        row.id,
        row.status,
        status="available",
        attached_server=None,
        attached_device=None,
        attachment_id=None,
    )
    if released:
        row.status, row.attached_server, row.attached_device = "available", None, None
    return row


async def create(deps: Deps, who: Identity, new: store.NewVolume) -> models.Volume:
    policy.authorize(who, "os_compute_api:os-volumes:create", who.project_id)
    if new.snapshot_id:
        raise errors.NotFound(f"Snapshot {new.snapshot_id} could not be found.")
    return await store.create(deps.sessions, new)


def new_volume(who: Identity, fields: dict[str, object]) -> store.NewVolume:
    def text(name: str) -> str | None:
        value = fields.get(name)
        return None if value is None else str(value)

    metadata = fields.get("metadata") or {}
    assert isinstance(metadata, dict)
    return store.NewVolume(
        id=str(uuidlib.uuid4()),
        project_id=who.project_id,
        user_id=who.user_id,
        size=int(str(fields["size"])),
        display_name=text("display_name"),
        display_description=text("display_description"),
        volume_type=text("volume_type"),
        availability_zone=text("availability_zone"),
        snapshot_id=text("snapshot_id"),
        metadata={str(k): str(v) for k, v in metadata.items()},
    )


async def show(deps: Deps, who: Identity, volume_id: str) -> models.Volume:
    row = await find(deps, who, volume_id)
    policy.authorize(who, "os_compute_api:os-volumes:show", row.project_id)
    return row


async def list_volumes(
    deps: Deps, who: Identity, detail: bool, limit: int, offset: int
) -> Sequence[models.Volume]:
    rule = "detail" if detail else "list"
    policy.authorize(who, f"os_compute_api:os-volumes:{rule}", who.project_id)
    # As the Cinder proxy did, a user sees the project's volumes (admins too: no all_tenants).
    return await store.list_volumes(deps.sessions, who.project_id, limit, offset)


async def delete(deps: Deps, who: Identity, volume_id: str) -> None:
    row = await find(deps, who, volume_id)
    policy.authorize(who, "os_compute_api:os-volumes:delete", row.project_id)
    if row.status != "available" or not await store.remove(deps.sessions, volume_id, "available"):
        raise errors.BadRequest(
            f"Invalid volume: Volume status must be available or error, but current status "
            f"is: {row.status}"
        )
