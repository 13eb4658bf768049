"""Volume attachments (per microversion) and the os-volumes proxy's volume records."""

from __future__ import annotations

from typing import Any

from novamesh.cells.v1 import server_devices_pb2 as sd
from novamesh.common.apidb import models
from novamesh.gateway.api.microversion import APIVersion
from novamesh.gateway.views.common import strtime


def attachment(
    a: sd.VolumeAttachment, version: APIVersion, created: bool = False
) -> dict[str, Any]:
    """`created`: the answer to an attach, which keeps the pre-2.89 shape in Nova (its `id`
    is the volume id; the attachment and BDM ids are only listed and shown)."""
    out: dict[str, Any] = {"device": a.device, "serverId": a.server_id, "volumeId": a.volume_id}
    new_ids = version.at_least("2.89") and not created
    if not new_ids:
        out["id"] = a.volume_id
    if version.at_least("2.70"):
        out["tag"] = a.tag or None
    if version.at_least("2.79"):
        out["delete_on_termination"] = a.delete_on_termination
    if new_ids:
        out["attachment_id"] = a.attachment_id
        out["bdm_uuid"] = a.bdm_uuid
    return out


def volume(v: models.Volume) -> dict[str, Any]:
    attachments: list[dict[str, Any]] = [{}]
    if v.attached_server:
        attachments = [
            {
                "device": v.attached_device,
                "id": v.id,
                "serverId": v.attached_server,
                "volumeId": v.id,
            }
        ]
    return {
        "attachments": attachments,
        "availabilityZone": v.availability_zone,
        "createdAt": strtime(v.created_at),
        "displayDescription": v.display_description,
        "displayName": v.display_name,
        "id": v.id,
        "metadata": dict(v.properties or {}),
        "size": v.size,
        "snapshotId": v.snapshot_id,
        "status": v.status,
        "volumeType": v.volume_type,
    }
