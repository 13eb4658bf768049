"""Policy: every protected operation has a named rule; rules are registered explicitly.

The defaults follow Nova's: admin-only operations, owner-or-admin operations, and anyone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import Forbidden

Check = Callable[[Identity, str | None], bool]


def is_admin(who: Identity, _target_project: str | None) -> bool:
    return who.is_admin


def admin_or_owner(who: Identity, target_project: str | None) -> bool:
    return who.is_admin or target_project is None or who.project_id == target_project


def anyone(_who: Identity, _target_project: str | None) -> bool:
    return True


CHECKS: dict[str, Check] = {
    "rule:admin_api": is_admin,
    "rule:admin_or_owner": admin_or_owner,
    "@": anyone,
}


@dataclass(frozen=True)
class Rule:
    name: str
    check: str
    description: str


RULES: dict[str, Rule] = {}


def register(name: str, check: str, description: str) -> None:
    if check not in CHECKS:
        raise ValueError(f"unknown check {check} for {name}")
    RULES[name] = Rule(name, check, description)


def allowed(who: Identity, name: str, target_project: str | None = None) -> bool:
    rule = RULES[name]
    return CHECKS[rule.check](who, target_project)


def authorize(who: Identity, name: str, target_project: str | None = None) -> None:
    if not allowed(who, name, target_project):
        raise Forbidden(f"Policy doesn't allow {name} to be performed.")


for _name, _check, _desc in [
    ("os_compute_api:servers:create", "rule:admin_or_owner", "Create a server"),
    ("os_compute_api:servers:create:forced_host", "rule:admin_api", "Boot on a named host"),
    ("os_compute_api:servers:index", "rule:admin_or_owner", "List servers"),
    ("os_compute_api:servers:detail", "rule:admin_or_owner", "List servers with details"),
    ("os_compute_api:servers:index:get_all_tenants", "rule:admin_api", "List all projects"),
    ("os_compute_api:servers:detail:get_all_tenants", "rule:admin_api", "Detail all projects"),
    ("os_compute_api:servers:allow_all_filters", "rule:admin_api", "Filter on any field"),
    ("os_compute_api:servers:show", "rule:admin_or_owner", "Show a server"),
    ("os_compute_api:servers:show:host_status", "rule:admin_api", "Show host_status"),
    ("os_compute_api:os-extended-server-attributes", "rule:admin_api", "OS-EXT-SRV-ATTR"),
    ("os_compute_api:servers:update", "rule:admin_or_owner", "Update a server"),
    ("os_compute_api:servers:delete", "rule:admin_or_owner", "Delete a server"),
    ("os_compute_api:servers:start", "rule:admin_or_owner", "Start a server"),
    ("os_compute_api:servers:stop", "rule:admin_or_owner", "Stop a server"),
    ("os_compute_api:servers:reboot", "rule:admin_or_owner", "Reboot a server"),
    ("os_compute_api:os-pause-server:pause", "rule:admin_or_owner", "Pause a server"),
    ("os_compute_api:os-pause-server:unpause", "rule:admin_or_owner", "Unpause a server"),
    ("os_compute_api:os-suspend-server:suspend", "rule:admin_or_owner", "Suspend a server"),
    ("os_compute_api:os-suspend-server:resume", "rule:admin_or_owner", "Resume a server"),
    ("os_compute_api:os-lock-server:lock", "rule:admin_or_owner", "Lock a server"),
    ("os_compute_api:os-lock-server:unlock", "rule:admin_or_owner", "Unlock a server"),
    ("os_compute_api:os-flavor-manage:create", "rule:admin_api", "Create a flavor"),
    ("os_compute_api:os-flavor-manage:delete", "rule:admin_api", "Delete a flavor"),
    ("os_compute_api:os-flavor-manage:update", "rule:admin_api", "Describe a flavor"),
    ("os_compute_api:os-flavor-extra-specs:index", "rule:admin_or_owner", "Flavor extra specs"),
    ("os_compute_api:images:show", "@", "Image proxy"),
    ("os_compute_api:os-keypairs:other_users", "rule:admin_api", "Other users' keypairs"),
]:
    register(_name, _check, _desc)
