"""/allocations/{consumer_uuid}, POST /allocations, /resource_providers/{uuid}/allocations."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from novamesh.placement import errors, http
from novamesh.placement.handlers import util
from novamesh.placement.objects import allocations
from novamesh.placement.schemas import allocation as schema


def _check_consumer(uuid: str) -> str:
    if not http.is_uuid(uuid):
        raise errors.invalid(f"Malformed consumer_uuid: {uuid}")
    return _canonical(uuid)


def _canonical(uuid: str) -> str:
    """A consumer is the same whether its uuid is written with dashes or without."""
    return str(uuidlib.UUID(uuid)) if http.is_uuid(uuid) else uuid


def _write_from(uuid: str, data: dict[str, Any], v: http.Version) -> allocations.ConsumerWrite:
    if isinstance(data["allocations"], list):
        allocs: dict[str, dict[str, int]] = {}
        for item in data["allocations"]:
            rp = item["resource_provider"]["uuid"]
            allocs.setdefault(rp, {}).update(item["resources"])
    else:
        allocs = {rp: dict(a["resources"]) for rp, a in data["allocations"].items()}
    gen: int | allocations.Unchecked | None = allocations.UNCHECKED
    if v.at_least(28):
        gen = data.get("consumer_generation")
    return allocations.ConsumerWrite(
        uuid=uuid,
        allocations=allocs,
        project_id=data.get("project_id"),
        user_id=data.get("user_id"),
        generation=gen,
        consumer_type=data.get("consumer_type") if v.at_least(38) else None,
    )


async def show(req: http.Request) -> http.Response:
    uuid = _canonical(req.params["consumer_uuid"])
    v = req.version
    view = await allocations.get_consumer(req.store, uuid)
    body: dict[str, Any] = {"allocations": {}}
    if view is not None and view.allocations:
        body["allocations"] = {
            rp: ({"generation": gen, "resources": res})
            for rp, (gen, res) in view.allocations.items()
        }
        if v.at_least(12):
            body["project_id"] = view.project_id
            body["user_id"] = view.user_id
        if v.at_least(28):
            body["consumer_generation"] = view.generation
        if v.at_least(38):
            body["consumer_type"] = view.consumer_type or "unknown"
    return http.ok(body, v, view.last_modified if view else None)


async def put(req: http.Request) -> http.Response:
    uuid = _check_consumer(req.params["consumer_uuid"])
    data = http.extract_json(req, schema.put(req.version.minor))
    await allocations.replace(req.store, [_write_from(uuid, data, req.version)])
    return http.no_content()


async def post(req: http.Request) -> http.Response:
    data = http.extract_json(req, schema.post(req.version.minor))
    writes = [_write_from(_canonical(uuid), body, req.version) for uuid, body in data.items()]
    await allocations.replace(req.store, writes)
    return http.no_content()


async def delete(req: http.Request) -> http.Response:
    uuid = _canonical(req.params["consumer_uuid"])
    if not await allocations.delete_consumer(req.store, uuid):
        raise errors.not_found(f"No allocations for consumer '{uuid}'")
    return http.no_content()


async def for_provider(req: http.Request) -> http.Response:
    uuid = req.params["uuid"]
    snap = await req.store.view()
    p = snap.by_uuid.get(uuid)
    if p is None:
        raise errors.not_found(f"No resource provider with uuid {uuid} found")
    by_consumer, last = await allocations.for_provider(req.store, p.id)
    body = {
        "allocations": {c: {"resources": res} for c, res in by_consumer.items()},
        "resource_provider_generation": p.generation,
    }
    return http.ok(body, req.version, last or util.stamp(p))
