"""Flavors: listing with Nova's visibility rules, show, create/delete/describe (admin).

DB round trips: a list or a show is one query (plus the selectin loads of extra specs and
project access, one each); create and delete are one transaction.
"""

from __future__ import annotations

import uuid as uuidlib

from novamesh.common.apidb import models
from novamesh.gateway.api import policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import BadRequest, Conflict, NotFound
from novamesh.gateway.db import catalog
from novamesh.gateway.db.catalog import FlavorQuery, NewFlavor
from novamesh.gateway.domain.deps import Deps


def not_found(flavor_id: str) -> NotFound:
    return NotFound(f"Flavor {flavor_id} could not be found.")


def visible_to(who: Identity, flavor: models.Flavor) -> bool:
    return (
        who.is_admin
        or flavor.is_public
        or any(p.project_id == who.project_id for p in flavor.projects)
    )


async def list_flavors(deps: Deps, who: Identity, q: FlavorQuery) -> list[models.Flavor]:
    if not who.is_admin:
        q.project_id = who.project_id
        q.is_public = True
    elif q.is_public:
        q.project_id = who.project_id
    try:
        flavors = await catalog.list_flavors(deps.sessions, q)
    except catalog.MarkerNotFound:
        raise BadRequest(f"marker [{q.marker}] not found") from None
    if not who.is_admin:
        flavors = [f for f in flavors if not f.disabled]
    return flavors


async def get(deps: Deps, who: Identity, flavor_id: str) -> models.Flavor:
    flavor = await catalog.get_flavor(deps.sessions, flavor_id)
    if flavor is None or not visible_to(who, flavor):
        raise not_found(flavor_id)
    return flavor


async def create(deps: Deps, who: Identity, new: NewFlavor) -> models.Flavor:
    policy.authorize(who, "os_compute_api:os-flavor-manage:create")
    if not new.flavorid:
        new.flavorid = str(uuidlib.uuid4())
    try:
        return await catalog.create_flavor(deps.sessions, new)
    except catalog.Duplicate:
        existing = await catalog.get_flavor(deps.sessions, new.flavorid)
        if existing is not None:
            raise Conflict(f"Flavor with ID {new.flavorid} already exists.") from None
        raise Conflict(f"Flavor with name {new.name} already exists.") from None


async def delete(deps: Deps, who: Identity, flavor_id: str) -> None:
    policy.authorize(who, "os_compute_api:os-flavor-manage:delete")
    if not await catalog.delete_flavor(deps.sessions, flavor_id):
        raise not_found(flavor_id)


async def describe(
    deps: Deps, who: Identity, flavor_id: str, description: str | None
) -> models.Flavor:
    policy.authorize(who, "os_compute_api:os-flavor-manage:update")
    flavor = await catalog.update_flavor_description(deps.sessions, flavor_id, description)
    if flavor is None:
        raise not_found(flavor_id)
    return flavor
