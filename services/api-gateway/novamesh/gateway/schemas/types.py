"""Building blocks of Nova's request schemas (its parameter_types)."""

from __future__ import annotations

from typing import Any

# Printable characters without leading or trailing whitespace, as Nova's `name`.
_NAME_PATTERN = r"^(?![\s])[^\x00-\x1f\x7f]*(?<![\s])$"

name: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": _NAME_PATTERN,
}
name_with_leading_trailing_spaces: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": r"^[^\x00-\x1f\x7f]*$",
}
description: dict[str, Any] = {
    "type": ["string", "null"],
    "minLength": 0,
    "maxLength": 255,
    "pattern": r"^[^\x00-\x1f\x7f]*$",
}
uuid: dict[str, Any] = {"type": "string", "format": "uuid"}
image_id_or_empty: dict[str, Any] = {
    "oneOf": [{"type": "string", "format": "uuid"}, {"type": "string", "maxLength": 0}]
}
flavor_ref: dict[str, Any] = {"type": ["string", "integer"], "minLength": 1}
positive_integer: dict[str, Any] = {
    "type": ["integer", "string"],
    "pattern": "^[0-9]*$",
    "minimum": 1,
    "minLength": 1,
}
boolean: dict[str, Any] = {
    "type": ["boolean", "string"],
    "enum": [
        True,
        "True",
        "TRUE",
        "true",
        "1",
        "ON",
        "On",
        "on",
        "YES",
        "Yes",
        "yes",
        False,
        "False",
        "FALSE",
        "false",
        "0",
        "OFF",
        "Off",
        "off",
        "NO",
        "No",
        "no",
    ],
}
metadata: dict[str, Any] = {
    "type": "object",
    "patternProperties": {
        "^[a-zA-Z0-9-_:. ]{1,255}$": {"type": "string", "maxLength": 255},
    },
    "additionalProperties": False,
}
ipv4: dict[str, Any] = {"type": "string", "oneOf": [{"format": "ipv4"}, {"maxLength": 0}]}
ipv6: dict[str, Any] = {"type": "string", "oneOf": [{"format": "ipv6"}, {"maxLength": 0}]}
tag: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 60,
    "pattern": r"^[^,/]*$",
}
hostname: dict[str, Any] = {
    "type": "string",
    "minLength": 2,
    "maxLength": 63,
    "pattern": r"^[a-zA-Z0-9-._]*$",
}
fqdn: dict[str, Any] = {
    "type": "string",
    "minLength": 2,
    "maxLength": 255,
    "pattern": r"^[a-zA-Z0-9-._]*$",
}


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("true", "1", "on", "yes")
