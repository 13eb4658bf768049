"""/resource_classes and /resource_classes/{name}."""

from __future__ import annotations

from novamesh.placement import errors, http
from novamesh.placement.objects import resource_classes
from novamesh.placement.schemas.common import CUSTOM_PATTERN

_BODY = {
    "type": "object",
    "properties": {"name": {"type": "string", "pattern": CUSTOM_PATTERN, "maxLength": 255}},
    "required": ["name"],
    "additionalProperties": False,
}


def _render(name: str) -> dict[str, object]:
    return {"name": name, "links": [{"rel": "self", "href": f"/resource_classes/{name}"}]}


async def list_classes(req: http.Request) -> http.Response:
    rows = await resource_classes.list_all(req.store)
    stamps = [s for _, s in rows if s is not None]
    return http.ok(
        {"resource_classes": [_render(n) for n, _ in rows]},
        req.version,
        max(stamps) if stamps else None,
    )


async def show(req: http.Request) -> http.Response:
    name = req.params["name"]
    stamp = await resource_classes.get(req.store, name)
    return http.ok(_render(name), req.version, stamp)


async def create(req: http.Request) -> http.Response:
    data = http.extract_json(req, _BODY)
    await resource_classes.create(req.store, data["name"])
    return http.Response(201, None, [("location", f"/resource_classes/{data['name']}")])


async def update(req: http.Request) -> http.Response:
    name = req.params["name"]
    if req.version.at_least(7):
        # The name in the path is held to the body schema of older versions.
        http.validate(_BODY, {"name": name})
        if resource_classes.is_standard(name):
            raise errors.invalid(f"Cannot update standard resource class {name}")
        http.validate_query(req, {"type": "object"})
        created = await resource_classes.ensure(req.store, name)
        resp = http.Response(
            201 if created else 204, None, [("location", f"/resource_classes/{name}")]
        )
        return resp
    data = http.extract_json(req, _BODY)
    await resource_classes.rename(req.store, name, data["name"])
    return http.ok(_render(data["name"]), req.version)


async def delete(req: http.Request) -> http.Response:
    await resource_classes.destroy(req.store, req.params["name"])
    return http.no_content()
