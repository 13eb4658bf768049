"""/resource_providers/{uuid}/usages and /usages (1.9; consumer types from 1.38)."""

from __future__ import annotations

from typing import Any

from novamesh.placement import errors, http
from novamesh.placement.handlers import util
from novamesh.placement.objects import allocations
from novamesh.placement.schemas.common import CONSUMER_TYPE_PATTERN


async def provider_usages(req: http.Request) -> http.Response:
    uuid = req.params["uuid"]
    snap = await req.store.view()
    p = snap.by_uuid.get(uuid)
    if p is None:
        raise errors.not_found(f"No resource provider with uuid {uuid} found")
    body = {
        "resource_provider_generation": p.generation,
        "usages": {rc: p.usages.get(rc, 0) for rc in p.inventories},
    }
    return http.ok(body, req.version)


def _query(v38: bool) -> dict[str, Any]:
    props: dict[str, Any] = {
        "project_id": {"type": "string", "minLength": 1, "maxLength": 255},
        "user_id": {"type": "string", "minLength": 1, "maxLength": 255},
    }
    if v38:
        props["consumer_type"] = {
            "type": "string",
            "pattern": CONSUMER_TYPE_PATTERN + "|^all$|^unknown$",
            "minLength": 1,
            "maxLength": 255,
        }
    return {
        "type": "object",
        "properties": props,
        "required": ["project_id"],
        "additionalProperties": False,
    }


async def project_usages(req: http.Request) -> http.Response:
    v38 = req.version.at_least(38)
    http.validate_query(req, _query(v38))
    project = req.qs("project_id") or ""
    by_type = await allocations.usages_for_project(
        req.store, project, req.qs("user_id"), req.qs("consumer_type") if v38 else None
    )
    if v38:
        return http.ok({"usages": by_type}, req.version)
    flat: dict[str, int] = {}
    for per in by_type.values():
        for rc, n in per.items():
            if rc != "consumer_count":
                flat[rc] = flat.get(rc, 0) + n
    return http.ok({"usages": flat}, req.version)


__all__ = ["project_usages", "provider_usages", "util"]
