"""Extra spec and flavor access request bodies (Nova's flavors_extraspecs / flavor_access)."""

from __future__ import annotations

from typing import Any

_SPECS: dict[str, Any] = {
    "type": "object",
    "patternProperties": {
        r"^[a-zA-Z0-9-_:. ]{1,255}$": {
            "type": ["string", "number", "boolean"],
            "minLength": 0,
            "maxLength": 255,
        }
    },
    "additionalProperties": False,
}

CREATE: dict[str, Any] = {
    "type": "object",
    "properties": {"extra_specs": _SPECS},
    "required": ["extra_specs"],
    "additionalProperties": False,
}

UPDATE: dict[str, Any] = {**_SPECS, "minProperties": 1, "maxProperties": 1}


def _tenant_action(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            name: {
                "type": "object",
                "properties": {"tenant": {"type": "string", "minLength": 1, "maxLength": 255}},
                "required": ["tenant"],
                "additionalProperties": False,
            }
        },
        "required": [name],
        "additionalProperties": False,
    }


ADD_TENANT_ACCESS = _tenant_action("addTenantAccess")
REMOVE_TENANT_ACCESS = _tenant_action("removeTenantAccess")
