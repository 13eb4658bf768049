"""POST /reshaper (1.30): inventories and allocations moved in one transaction."""

from __future__ import annotations

from typing import Any

from novamesh.placement import errors, http
from novamesh.placement.handlers.inventory import _spec
from novamesh.placement.objects import allocations, inventories
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
    for uuid in data["inventories"]:
        if uuid not in snap.by_uuid:
            raise errors.invalid(f"Resource provider {uuid} in inventories not found")
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
    async with req.store.write() as w:
        for uuid, body in data["inventories"].items():
            specs = {rc: _spec(d) for rc, d in body["inventories"].items()}
            bad = inventories.check_capacity(uuid, specs, True)
            if bad:
                raise errors.invalid(bad)
            await inventories.replace_all_in(
                w, uuid, body["resource_provider_generation"], specs, check_in_use=False
            )
        await allocations.replace_in(w, writes)
    return http.no_content()
