"""Flavor extra specs (CRUD, admin to change) and access to private flavors (admin).

DB round trips: reads are one flavor query; every change is one transaction (plus the read
of the flavor that the REST face renders).
"""

from __future__ import annotations

from novamesh.gateway.api import policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import BadRequest, Conflict, NotFound
from novamesh.gateway.db import flavor_extras as store
from novamesh.gateway.domain import extra_specs, flavors
from novamesh.gateway.domain.deps import Deps

for _name, _check, _desc in [
    ("os_compute_api:os-flavor-extra-specs:show", "rule:admin_or_owner", "Show an extra spec"),
    ("os_compute_api:os-flavor-extra-specs:create", "rule:admin_api", "Add extra specs"),
    ("os_compute_api:os-flavor-extra-specs:update", "rule:admin_api", "Update an extra spec"),
    ("os_compute_api:os-flavor-extra-specs:delete", "rule:admin_api", "Delete an extra spec"),
    ("os_compute_api:os-flavor-access", "rule:admin_api", "List a flavor's projects"),
    ("os_compute_api:os-flavor-access:add_tenant_access", "rule:admin_api", "Share a flavor"),
    ("os_compute_api:os-flavor-access:remove_tenant_access", "rule:admin_api", "Unshare"),
]:
    policy.register(_name, _check, _desc)


def _missing_key(flavor_id: str, key: str) -> NotFound:
    return NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")


async def list_specs(deps: Deps, who: Identity, flavor_id: str) -> dict[str, str]:
    policy.authorize(who, "os_compute_api:os-flavor-extra-specs:index")
    flavor = await flavors.get(deps, who, flavor_id)
    return {spec.key: spec.value for spec in flavor.extra_specs}


async def get_spec(deps: Deps, who: Identity, flavor_id: str, key: str) -> str:
    policy.authorize(who, "os_compute_api:os-flavor-extra-specs:show")
    specs = {s.key: s.value for s in (await flavors.get(deps, who, flavor_id)).extra_specs}
    if key not in specs:
        raise _missing_key(flavor_id, key)
    return specs[key]


async def set_specs(
    deps: Deps, who: Identity, flavor_id: str, specs: dict[str, str], *, validated: bool, rule: str
) -> None:
    policy.authorize(who, f"os_compute_api:os-flavor-extra-specs:{rule}")
    if validated:
        extra_specs.validate_all(specs)
    try:
        await store.set_extra_specs(deps.sessions, flavor_id, specs)
    except store.FlavorMissing:
        raise flavors.not_found(flavor_id) from None


async def delete_spec(deps: Deps, who: Identity, flavor_id: str, key: str) -> None:
    policy.authorize(who, "os_compute_api:os-flavor-extra-specs:delete")
    try:
        deleted = await store.delete_extra_spec(deps.sessions, flavor_id, key)
    except store.FlavorMissing:
        raise flavors.not_found(flavor_id) from None
    if not deleted:
        raise _missing_key(flavor_id, key)


async def list_access(deps: Deps, who: Identity, flavor_id: str) -> list[str]:
    policy.authorize(who, "os_compute_api:os-flavor-access")
    flavor = await flavors.get(deps, who, flavor_id)
    if flavor.is_public:
        raise NotFound("Access list not available for public flavors.")
    return [p.project_id for p in flavor.projects]


async def add_access(
    deps: Deps, who: Identity, flavor_id: str, project_id: str, *, refuse_public: bool
) -> list[str]:
    policy.authorize(who, "os_compute_api:os-flavor-access:add_tenant_access")
    flavor = await flavors.get(deps, who, flavor_id)
    if flavor.is_public and refuse_public:
        raise Conflict("Can not add access to a public flavor.")
    try:
        return await store.add_access(deps.sessions, flavor_id, project_id)
    except store.FlavorMissing:
        raise flavors.not_found(flavor_id) from None
    except store.AccessExists:
        raise Conflict(
            f"Flavor access already exists for flavor {flavor_id} and project {project_id} "
            "combination."
        ) from None


async def remove_access(deps: Deps, who: Identity, flavor_id: str, project_id: str) -> list[str]:
    policy.authorize(who, "os_compute_api:os-flavor-access:remove_tenant_access")
    await flavors.get(deps, who, flavor_id)
    try:
        return await store.remove_access(deps.sessions, flavor_id, project_id)
    except store.FlavorMissing:
        raise flavors.not_found(flavor_id) from None
    except store.AccessMissing:
        raise NotFound(
            f"Flavor access not found for {flavor_id} / {project_id} combination."
        ) from None


def as_text(value: object) -> str:
    """Nova keeps extra spec values as strings; numbers and booleans are written as str()."""
    if isinstance(value, str):
        return value
    return str(value)


def check_key_matches(path_key: str, body: dict[str, object]) -> None:
    if path_key not in body:
        raise BadRequest("Request body and URI mismatch")
