"""Aggregate request bodies (Nova's schemas/aggregates.py and aggregate_images.py)."""

from __future__ import annotations

from typing import Any

from novamesh.gateway.schemas import types

_ZONE: dict[str, Any] = {**types.name_with_leading_trailing_spaces, "type": ["string", "null"]}
_NAME = types.name_with_leading_trailing_spaces


def _wrapped(key: str, inner: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {key: inner},
        "required": [key],
        "additionalProperties": False,
    }


create = _wrapped(
    "aggregate",
    {
        "type": "object",
        "properties": {"name": _NAME, "availability_zone": _ZONE},
        "required": ["name"],
        "additionalProperties": False,
    },
)

update = _wrapped(
    "aggregate",
    {
        "type": "object",
        "properties": {"name": _NAME, "availability_zone": _ZONE},
        "additionalProperties": False,
        "anyOf": [{"required": ["name"]}, {"required": ["availability_zone"]}],
    },
)

_HOST = {
    "type": "object",
    "properties": {"host": {"type": "string", "minLength": 1, "maxLength": 255}},
    "required": ["host"],
    "additionalProperties": False,
}
add_host = _wrapped("add_host", _HOST)
remove_host = _wrapped("remove_host", _HOST)

set_metadata = _wrapped(
    "set_metadata",
    {
        "type": "object",
        "properties": {
            "metadata": {
                "type": "object",
                "patternProperties": {
                    "^[a-zA-Z0-9-_:. ]{1,255}$": {"type": ["string", "null"], "maxLength": 255}
                },
                "additionalProperties": False,
            }
        },
        "required": ["metadata"],
        "additionalProperties": False,
    },
)

cache_images = {
    "type": "object",
    "properties": {
        "cache": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {"id": types.uuid},
                "required": ["id"],
                "additionalProperties": False,
            },
            "uniqueItems": True,
        }
    },
    "required": ["cache"],
    "additionalProperties": False,
}
