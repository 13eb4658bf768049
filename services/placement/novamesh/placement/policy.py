"""Placement's policy: upstream's default rules under the noauth2 conventions.

Every rule is scoped to projects, so a system-scoped token is refused whatever its roles.
In "legacy" mode each rule also accepts its deprecated check (the admin role); "secure" applies
only the new defaults; "open" lets any token through every rule, as upstream's
OpenPolicyFixture does.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from novamesh.placement import errors


class Mode(enum.Enum):
    LEGACY = "legacy"
    SECURE = "secure"
    OPEN = "open"


@dataclass(frozen=True)
class Credentials:
    roles: frozenset[str]
    project_id: str | None
    system_scope: bool


Check = Callable[[Credentials, dict[str, str]], bool]


def _admin_or_service(c: Credentials, _: dict[str, str]) -> bool:
    return bool({"admin", "service"} & c.roles)


def _service(c: Credentials, _: dict[str, str]) -> bool:
    return "service" in c.roles


def _admin_or_project_reader_or_service(c: Credentials, target: dict[str, str]) -> bool:
    if _admin_or_service(c, target):
        return True
    return (
        "reader" in c.roles
        and c.project_id is not None
        and c.project_id == target.get("project_id")
    )


def _deprecated_admin(c: Credentials, _: dict[str, str]) -> bool:
    return "admin" in c.roles


# Rule name (without the "placement:" prefix) -> its default check.
RULES: dict[str, Check] = {
    name: _admin_or_service
    for name in (
        "resource_providers:list",
        "resource_providers:create",
        "resource_providers:show",
        "resource_providers:update",
        "resource_providers:delete",
        "resource_providers:inventories:list",
        "resource_providers:inventories:create",
        "resource_providers:inventories:show",
        "resource_providers:inventories:update",
        "resource_providers:inventories:delete",
        "resource_providers:aggregates:list",
        "resource_providers:aggregates:update",
        "resource_providers:traits:list",
        "resource_providers:traits:update",
        "resource_providers:traits:delete",
        "resource_providers:usages",
        "resource_providers:allocations:list",
        "resource_classes:list",
        "resource_classes:create",
        "resource_classes:show",
        "resource_classes:update",
        "resource_classes:delete",
        "traits:list",
        "traits:show",
        "traits:update",
        "traits:delete",
        "allocations:list",
        "allocations:manage",
        "allocations:update",
        "allocations:delete",
        "allocation_candidates:list",
    )
}
RULES["reshaper:reshape"] = _service
RULES["usages"] = _admin_or_project_reader_or_service


def parse_mode(value: str) -> Mode:
    try:
        return Mode(value.strip().lower())
    except ValueError as exc:
        raise ValueError(f"unknown placement policy mode {value!r}") from exc


def authorize(mode: Mode, rule: str, creds: Credentials, target: dict[str, str]) -> None:
    """Raise a 403 PlacementError unless `creds` pass `rule` against `target`."""
    check = RULES[rule]
    if mode is Mode.OPEN:
        allowed = True
    elif creds.system_scope:
        allowed = False
    elif mode is Mode.LEGACY:
        allowed = check(creds, target) or _deprecated_admin(creds, target)
    else:
        allowed = check(creds, target)
    if not allowed:
        raise errors.forbidden(f"Policy does not allow placement:{rule} to be performed.")
