"""The deprecated image proxy views (up to 2.35)."""

from __future__ import annotations

from typing import Any

from novamesh.common.apidb import models
from novamesh.gateway.views.common import ViewContext, isotime, links

_STATUS = {
    "active": "ACTIVE",
    "queued": "SAVING",
    "saving": "SAVING",
    "importing": "SAVING",
    "deleted": "DELETED",
    "pending_delete": "DELETED",
    "killed": "ERROR",
}
_PROGRESS = {"queued": 25, "saving": 50, "active": 100}


def _links(ctx: ViewContext, image_url: str, image_id: str) -> list[dict[str, str]]:
    return [
        *links(ctx, "images", image_id),
        {
            "href": f"{image_url.rstrip('/')}/images/{image_id}",
            "rel": "alternate",
            "type": "application/vnd.openstack.image",
        },
    ]


def summary(ctx: ViewContext, image_url: str, image: models.Image) -> dict[str, Any]:
    return {"id": image.id, "links": _links(ctx, image_url, image.id), "name": image.name}


def detail(ctx: ViewContext, image_url: str, image: models.Image) -> dict[str, Any]:
    properties = {k: str(v) for k, v in (image.properties or {}).items()}
    view: dict[str, Any] = {
        "id": image.id,
        "name": image.name,
        "minRam": image.min_ram or 0,
        "minDisk": image.min_disk or 0,
        "metadata": properties,
        "created": isotime(image.created_at),
        "updated": isotime(image.updated_at or image.created_at),
        "status": _STATUS.get(image.status, "UNKNOWN"),
        "progress": _PROGRESS.get(image.status, 0),
        "OS-EXT-IMG-SIZE:size": image.size,
        "links": _links(ctx, image_url, image.id),
    }
    server = properties.get("instance_uuid")
    if server is not None:
        view["server"] = {
            "id": server,
            "links": [
                {"href": f"{ctx.base_url}/v2.1/servers/{server}", "rel": "self"},
                {"href": f"{ctx.base_url}/servers/{server}", "rel": "bookmark"},
            ],
        }
    auto_disk = properties.get("auto_disk_config")
    if auto_disk is not None:
        truthy = auto_disk.lower() in ("true", "1", "yes", "on", "y", "t")
        view["OS-DCF:diskConfig"] = "AUTO" if truthy else "MANUAL"
    return view
