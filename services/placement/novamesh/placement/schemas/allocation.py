"""Bodies of /allocations (shapes per microversion, as upstream)."""

import copy
from typing import Any

from novamesh.placement.schemas.common import (
    CONSUMER_TYPE_PATTERN,
    GROUP_PAT_1_33,
    RC_PATTERN,
    UUID_PATTERN,
)

_RESOURCES = {
    "type": "object",
    "minProperties": 1,
    "patternProperties": {RC_PATTERN: {"type": "integer", "minimum": 1}},
    "additionalProperties": False,
}
_ID = {"type": "string", "minLength": 1, "maxLength": 255}


def _list_shape(v8: bool) -> dict[str, Any]:
    s: dict[str, Any] = {
        "type": "object",
        "properties": {
            "allocations": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "resource_provider": {
                            "type": "object",
                            "properties": {"uuid": {"type": "string", "format": "uuid"}},
                            "additionalProperties": False,
                            "required": ["uuid"],
                        },
                        "resources": _RESOURCES,
                    },
                    "required": ["resource_provider", "resources"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["allocations"],
        "additionalProperties": False,
    }
    if v8:
        s["properties"]["project_id"] = _ID
        s["properties"]["user_id"] = _ID
        s["required"] += ["project_id", "user_id"]
    return s


def _dict_shape(min_allocs: int, minor: int) -> dict[str, Any]:
    s: dict[str, Any] = {
        "type": "object",
        "properties": {
            "allocations": {
                "type": "object",
                "minProperties": min_allocs,
                "patternProperties": {
                    UUID_PATTERN: {
                        "type": "object",
                        "properties": {"generation": {"type": "integer"}, "resources": _RESOURCES},
                        "required": ["resources"],
                        "additionalProperties": False,
                    }
                },
                "additionalProperties": False,
            },
            "project_id": _ID,
            "user_id": _ID,
        },
        "additionalProperties": False,
        "required": ["allocations", "project_id", "user_id"],
    }
    if minor >= 28:
        s["properties"]["consumer_generation"] = {"type": ["integer", "null"]}
        s["required"].append("consumer_generation")
    if minor >= 34:
        s["properties"]["mappings"] = {
            "type": "object",
            "minProperties": 1,
            "patternProperties": {
                GROUP_PAT_1_33: {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "string", "format": "uuid"},
                }
            },
        }
    if minor >= 38:
        s["properties"]["consumer_type"] = {
            "type": "string",
            "pattern": CONSUMER_TYPE_PATTERN,
            "minLength": 1,
            "maxLength": 255,
        }
        s["required"].append("consumer_type")
    return s


def put(minor: int) -> dict[str, Any]:
    if minor < 8:
        return _list_shape(False)
    if minor < 12:
        return _list_shape(True)
    return _dict_shape(0 if minor >= 28 else 1, minor)


def post(minor: int) -> dict[str, Any]:
    one = _dict_shape(0, minor)
    return {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "patternProperties": {UUID_PATTERN: copy.deepcopy(one)},
    }
