"""/resource_providers/{uuid}/inventories[/{resource_class}]."""

from __future__ import annotations

from typing import Any

from novamesh.placement import errors, http
from novamesh.placement.handlers import util
from novamesh.placement.objects import inventories
from novamesh.placement.objects.snapshot import Inv
from novamesh.placement.schemas import inventory as schema

_FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")


def _render(inv: Inv) -> dict[str, Any]:
    return {f: getattr(inv, f) for f in _FIELDS}


def _spec(data: dict[str, Any]) -> inventories.InventorySpec:
    return inventories.InventorySpec(**{f: data[f] for f in _FIELDS if f in data})


def _check(
    req: http.Request, uuid: str, specs: dict[str, inventories.InventorySpec], prefix: str
) -> None:
    bad = inventories.check_capacity(uuid, specs, req.version.at_least(26))
    if bad:
        raise errors.invalid(f"{prefix} {uuid}: {bad}")


async def _one(req: http.Request, uuid: str, rc: str, status: int = 200) -> http.Response:
    snap = await req.store.view()
    p = util.provider_or_404(snap, uuid)
    inv = p.inventories.get(rc)
    if inv is None:
        raise errors.not_found(f"No inventory of class {rc} for {uuid}")
    body = {"resource_provider_generation": p.generation, **_render(inv)}
    resp = http.ok(body, req.version, inv.updated_at or inv.created_at)
    resp.status = status
    return resp


async def list_inventories(req: http.Request) -> http.Response:
    uuid = req.params["uuid"]
    snap = await req.store.view()
    p = snap.by_uuid.get(uuid)
    if p is None:
        raise errors.not_found(f"No resource provider with uuid {uuid} found : ")
    stamps = [s for i in p.inventories.values() if (s := i.updated_at or i.created_at)]
    body = {
        "resource_provider_generation": p.generation,
        "inventories": {rc: _render(i) for rc, i in p.inventories.items()},
    }
    return http.ok(body, req.version, max(stamps) if stamps else None)


async def show(req: http.Request) -> http.Response:
    uuid, rc = req.params["uuid"], req.params["resource_class"]
    snap = await req.store.view()
    if uuid not in snap.by_uuid:
        raise errors.not_found(f"No resource provider with uuid {uuid} found : ")
    return await _one(req, uuid, rc)


async def create(req: http.Request) -> http.Response:
    uuid = req.params["uuid"]
    util.provider_or_404(await req.store.view(), uuid)
    data = http.extract_json(req, schema.post())
    rc = data["resource_class"]
    spec = _spec(data)
    _check(req, uuid, {rc: spec}, "Unable to create inventory for resource provider")
    try:
        await inventories.put_one(req.store, uuid, rc, None, spec, create=True)
    except errors.PlacementError as exc:
        if exc.kind is errors.Kind.NOT_FOUND and "resource class" in exc.message:
            raise errors.invalid(
                f"Unable to create inventory for resource provider {uuid}: {exc.message}"
            ) from exc
        raise
    resp = await _one(req, uuid, rc, 201)
    resp.headers.append(("location", f"/resource_providers/{uuid}/inventories/{rc}"))
    return resp


async def update(req: http.Request) -> http.Response:
    uuid, rc = req.params["uuid"], req.params["resource_class"]
    snap = await req.store.view()
    p = util.provider_or_404(snap, uuid)
    data = http.extract_json(req, schema.base())
    if data["resource_provider_generation"] != p.generation:
        raise errors.conflict("resource provider generation conflict", errors.CONCURRENT_UPDATE)
    spec = _spec(data)
    _check(req, uuid, {rc: spec}, "Unable to update inventory for resource provider")
    try:
        await inventories.put_one(
            req.store, uuid, rc, data["resource_provider_generation"], spec, create=False
        )
    except errors.PlacementError as exc:
        if exc.kind is errors.Kind.NOT_FOUND:
            raise errors.invalid(
                "No inventory record with resource class for resource provider "
                f"{uuid}: {exc.message}"
            ) from exc
        raise
    return await _one(req, uuid, rc)


async def replace(req: http.Request) -> http.Response:
    uuid = req.params["uuid"]
    snap = await req.store.view()
    p = util.provider_or_404(snap, uuid)
    data = http.extract_json(req, schema.put_all())
    if data["resource_provider_generation"] != p.generation:
        raise errors.conflict("resource provider generation conflict", errors.CONCURRENT_UPDATE)
    specs = {rc: _spec(d) for rc, d in data["inventories"].items()}
    _check(req, uuid, specs, "Unable to update inventory for resource provider")
    try:
        await inventories.replace_all(req.store, uuid, data["resource_provider_generation"], specs)
    except errors.PlacementError as exc:
        if exc.kind is errors.Kind.NOT_FOUND and "resource class" in exc.message:
            raise errors.invalid(
                f"Unknown resource class in inventory for resource provider {uuid}: {exc.message}"
            ) from exc
        raise
    return await list_inventories(req)


async def delete_all(req: http.Request) -> http.Response:
    uuid = req.params["uuid"]
    util.provider_or_404(await req.store.view(), uuid)
    await inventories.replace_all(req.store, uuid, None, {}, in_use_prefix="")
    return http.no_content()


async def delete(req: http.Request) -> http.Response:
    uuid, rc = req.params["uuid"], req.params["resource_class"]
    util.provider_or_404(await req.store.view(), uuid)
    await inventories.delete_one(req.store, uuid, rc)
    return http.no_content()
