"""POST /reshaper (1.30): inventories and allocations moved in one transaction."""

from __future__ import annotations

from typing import Any

from novamesh.placement import errors, http
from novamesh.placement.handlers.inventory import _spec
from novamesh.placement.objects import allocations, inventories, resource_classes
from novamesh.placement.objects.snapshot import Inv
from novamesh.placement.schemas import allocation as alloc_schema
from novamesh.placement.schemas import inventory as inv_schema
from novamesh.placement.schemas.common import UUID_PATTERN


def _schema(v: http.Version) -> dict[str, Any]:
    inv = inv_schema.put_all()
    allocs = alloc_schema.post(v.minor if v.at_least(28) else 28)
    allocs["minProperties"] = 0
    return {
        "type": "object",
        "properties": {
            "inventories": {
                "type": "object",
                "patternProperties": {UUID_PATTERN: inv},
                "additionalProperties": False,
            },
            "allocations": allocs,
        },
        "required": ["inventories", "allocations"],
        "additionalProperties": False,
    }


async def reshape(req: http.Request) -> http.Response:
    data = http.extract_json(req, _schema(req.version))
    snap = await req.store.view()
    known_rcs = {name for name, _ in await resource_classes.list_all(req.store)}
    for uuid, body in data["inventories"].items():
        p = snap.by_uuid.get(uuid)
        if p is None:
            raise errors.invalid(
                f"Resource provider {uuid} in inventories not found",
                errors.RESOURCE_PROVIDER_NOT_FOUND,
            )
        if p.generation != body["resource_provider_generation"]:
            raise errors.conflict(
                "resource provider generation conflict: "
                f"actual: {p.generation}, given: {body['resource_provider_generation']}",
                errors.CONCURRENT_UPDATE,
            )
        unknown = sorted(rc for rc in body["inventories"] if rc not in known_rcs)
        if unknown:
            raise errors.invalid(f"No such resource class {unknown[0]}")
    writes = [
        allocations.ConsumerWrite(
            uuid=c,
            allocations={rp: dict(a["resources"]) for rp, a in body["allocations"].items()},
            project_id=body.get("project_id"),
            user_id=body.get("user_id"),
            generation=body.get("consumer_generation"),
            consumer_type=body.get("consumer_type"),
        )
        for c, body in data["allocations"].items()
    ]
    specs = {
        uuid: {rc: _spec(d) for rc, d in body["inventories"].items()}
        for uuid, body in data["inventories"].items()
    }
    for uuid, wanted in specs.items():
        bad = inventories.check_capacity(uuid, wanted, True)
        if bad:
            raise errors.invalid(bad)
    async with req.store.write() as w:
        # Upstream's three steps: an interim inventory (what is wanted plus whatever is to go,
        # generation-checked), then the allocations (capacity-checked), then the inventory as
        # wanted (a class still allocated can't go).
        for uuid, body in data["inventories"].items():
            if not specs[uuid]:
                continue
            current = {rc: _from_inv(i) for rc, i in snap.by_uuid[uuid].inventories.items()}
            interim = {**current, **specs[uuid]}
            await inventories.replace_all_in(
                w, uuid, body["resource_provider_generation"], interim, check_in_use=False
            )
        await allocations.replace_in(w, writes)
        for uuid, wanted in specs.items():
            await inventories.replace_all_in(w, uuid, None, wanted)
    return http.no_content()


def _from_inv(i: Inv) -> inventories.InventorySpec:
    return inventories.InventorySpec(
        total=i.total,
        reserved=i.reserved,
        min_unit=i.min_unit,
        max_unit=i.max_unit,
        step_size=i.step_size,
        allocation_ratio=i.allocation_ratio,
    )
