"""JSON documents of the Glance v2 API, rendered from domain records."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode

from novamesh.gateway.image.domain import ImageRecord, MemberRecord

# v2.0 … v2.9 plus the current one; the newer point releases describe features (multi-store,
# cache API) this service does not have.
CURRENT_VERSION = "2.9"
SUPPORTED_VERSIONS = ("2.8", "2.7", "2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0")


def isotime(when: dt.datetime | None) -> str | None:
    if when is None:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when.replace(microsecond=0).isoformat() + "Z"


def dumps(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def image(rec: ImageRecord) -> dict[str, Any]:
    doc: dict[str, Any] = dict(rec.properties)
    doc.update(
        name=rec.name,
        disk_format=rec.disk_format,
        container_format=rec.container_format,
        visibility=rec.visibility,
        size=rec.size,
        virtual_size=rec.virtual_size,
        status=rec.status,
        checksum=rec.checksum,
        protected=rec.protected,
        min_ram=rec.min_ram,
        min_disk=rec.min_disk,
        owner=rec.owner,
        os_hidden=rec.os_hidden,
        os_hash_algo=rec.os_hash_algo,
        os_hash_value=rec.os_hash_value,
        id=rec.id,
        created_at=isotime(rec.created_at),
        updated_at=isotime(rec.updated_at or rec.created_at),
        tags=list(rec.tags),
        self=f"/v2/images/{rec.id}",
        file=f"/v2/images/{rec.id}/file",
        schema="/v2/schemas/image",
    )
    return doc


def images(
    recs: list[ImageRecord], echo: list[tuple[str, str]], next_marker: str | None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "images": [image(r) for r in recs],
        "first": "/v2/images" + (f"?{urlencode(echo)}" if echo else ""),
        "schema": "/v2/schemas/images",
    }
    if next_marker is not None:
        doc["next"] = "/v2/images?" + urlencode([*echo, ("marker", next_marker)])
    return doc


def member(rec: MemberRecord) -> dict[str, Any]:
    return {
        "created_at": isotime(rec.created_at),
        "image_id": rec.image_id,
        "member_id": rec.member,
        "schema": "/v2/schemas/member",
        "status": rec.status,
        "updated_at": isotime(rec.updated_at or rec.created_at),
    }


def members(recs: list[MemberRecord]) -> dict[str, Any]:
    return {"members": [member(r) for r in recs], "schema": "/v2/schemas/members"}


def versions(public_url: str) -> dict[str, Any]:
    href = public_url.rstrip("/") + "/v2/"

    def entry(version: str, status: str) -> dict[str, Any]:
        return {"id": f"v{version}", "status": status, "links": [{"rel": "self", "href": href}]}

    return {
        "versions": [
            entry(CURRENT_VERSION, "CURRENT"),
            *(entry(v, "SUPPORTED") for v in SUPPORTED_VERSIONS),
        ]
    }


def import_info() -> dict[str, Any]:
    return {
        "import-methods": {
            "description": "Import methods available.",
            "type": "array",
            "value": [],
        }
    }
