"""/traits and /resource_providers/{uuid}/traits."""

from __future__ import annotations

import re

from novamesh.placement import errors, http
from novamesh.placement.handlers import util
from novamesh.placement.objects import traits

_CUSTOM = re.compile(r"^CUSTOM_[A-Z0-9_]+$")
_SET_SCHEMA = {
    "type": "object",
    "properties": {
        "traits": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[A-Z0-9_]+$"},
            "uniqueItems": True,
        },
        "resource_provider_generation": {"type": "integer"},
    },
    "required": ["traits", "resource_provider_generation"],
    "additionalProperties": False,
}
_QUERY = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "associated": {"type": "string"}},
    "additionalProperties": False,
}


async def list_traits(req: http.Request) -> http.Response:
    http.validate_query(req, _QUERY)
    name_in: list[str] | None = None
    prefix: str | None = None
    if (name := req.qs("name")) is not None:
        if name.startswith("in:"):
            name_in = name[3:].split(",")
        elif name.startswith("startswith:"):
            prefix = name[len("startswith:") :]
        else:
            raise errors.invalid(
                "Badly formatted name parameter. Expected name query string parameter in "
                f'form: ?name=[in|startswith]:[name1,name2|prefix]. Got: "{name}"'
            )
    associated: bool | None = None
    if (assoc := req.qs("associated")) is not None:
        if assoc.lower() not in ("true", "false"):
            raise errors.invalid('The query parameter "associated" only accepts "true" or "false"')
        associated = assoc.lower() == "true"
    rows = await traits.list_names(req.store, name_in, prefix, associated)
    stamps = [s for _, s in rows if s is not None]
    return http.ok({"traits": [n for n, _ in rows]}, req.version, max(stamps) if stamps else None)


async def show(req: http.Request) -> http.Response:
    stamp = await traits.get(req.store, req.params["name"])
    resp = http.no_content()
    if req.version.at_least(15):
        resp.last_modified = stamp
    return resp


async def put(req: http.Request) -> http.Response:
    name = req.params["name"]
    if not _CUSTOM.match(name) or len(name) > 255:
        raise errors.invalid(
            "The trait is invalid. A valid trait must be no longer than 255 characters, start "
            'with the prefix "CUSTOM_" and use following characters: "A"-"Z", "0"-"9" and "_"'
        )
    created = await traits.ensure(req.store, name)
    resp = http.Response(201 if created else 204, None, [("location", f"/traits/{name}")])
    if req.version.at_least(15):
        resp.last_modified = await traits.get(req.store, name)
    return resp


async def delete(req: http.Request) -> http.Response:
    await traits.destroy(req.store, req.params["name"])
    return http.no_content()


async def provider_traits(req: http.Request) -> http.Response:
    uuid = req.params["uuid"]
    snap = await req.store.view()
    p = snap.by_uuid.get(uuid)
    if p is None:
        raise errors.not_found(f"No resource provider with uuid {uuid} found: ")
    body = {"traits": sorted(p.traits), "resource_provider_generation": p.generation}
    return http.ok(body, req.version, util.stamp(p))


async def update_provider_traits(req: http.Request) -> http.Response:
    uuid = req.params["uuid"]
    p = util.provider_or_404(await req.store.view(), uuid)
    data = http.extract_json(req, _SET_SCHEMA)
    if data["resource_provider_generation"] != p.generation:
        raise errors.conflict(
            "Resource provider's generation already changed. Please update the generation "
            "and try again.",
            errors.CONCURRENT_UPDATE,
        )
    await traits.set_for_provider(
        req.store, uuid, data["resource_provider_generation"], data["traits"]
    )
    return await provider_traits(req)


async def delete_provider_traits(req: http.Request) -> http.Response:
    uuid = req.params["uuid"]
    util.provider_or_404(await req.store.view(), uuid)
    await traits.set_for_provider(req.store, uuid, None, [])
    return http.no_content()
