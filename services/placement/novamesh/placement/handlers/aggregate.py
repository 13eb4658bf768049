"""/resource_providers/{uuid}/aggregates (generations from 1.19)."""

from __future__ import annotations

from typing import Any

from novamesh.placement import errors, http
from novamesh.placement.handlers import util
from novamesh.placement.objects import aggregates

_LIST = {"type": "array", "items": {"type": "string", "format": "uuid"}, "uniqueItems": True}


def _schema(v19: bool) -> dict[str, Any]:
    if not v19:
        return _LIST
    return {
        "type": "object",
        "properties": {"aggregates": _LIST, "resource_provider_generation": {"type": "integer"}},
        "required": ["aggregates", "resource_provider_generation"],
        "additionalProperties": False,
    }


async def show(req: http.Request) -> http.Response:
    snap = await req.store.view()
    p = util.provider_or_404(snap, req.params["uuid"])
    body: dict[str, Any] = {"aggregates": sorted(p.aggregates)}
    if req.version.at_least(19):
        body["resource_provider_generation"] = p.generation
    return http.ok(body, req.version, util.stamp(p))


async def update(req: http.Request) -> http.Response:
    uuid = req.params["uuid"]
    p = util.provider_or_404(await req.store.view(), uuid)
    v19 = req.version.at_least(19)
    data = http.extract_json(req, _schema(v19))
    if v19:
        if data["resource_provider_generation"] != p.generation:
            raise errors.conflict(
                "Resource provider's generation already changed. Please update the generation "
                "and try again.",
                errors.CONCURRENT_UPDATE,
            )
        await aggregates.set_for_provider(
            req.store, uuid, data["resource_provider_generation"], data["aggregates"]
        )
    else:
        await aggregates.set_for_provider(req.store, uuid, None, data, increment=False)
    # Upstream answers with the aggregates as the request listed them.
    wanted = data["aggregates"] if v19 else data
    resp = await show(req)
    resp.body["aggregates"] = list(dict.fromkeys(wanted))
    return resp
