"""Flavor request bodies (Nova's schemas/flavor_manage.py)."""

from __future__ import annotations

import copy
from typing import Any

from novamesh.gateway.api.microversion import APIVersion
from novamesh.gateway.schemas import types

_MAX_INT = 2147483647
_POSITIVE = {
    "type": ["integer", "string"],
    "pattern": "^[0-9]*$",
    "minimum": 1,
    "maximum": _MAX_INT,
}
_NON_NEGATIVE = {
    "type": ["integer", "string"],
    "pattern": "^[0-9]*$",
    "minimum": 0,
    "maximum": _MAX_INT,
}

_CREATE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "flavor": {
            "type": "object",
            "properties": {
                "name": types.name,
                "id": {
                    "type": ["string", "number", "null"],
                    "minLength": 1,
                    "maxLength": 255,
                    "pattern": r"^(?! )[a-zA-Z0-9. _-]+(?<! )$",
                },
                "ram": _POSITIVE,
                "vcpus": _POSITIVE,
                "disk": _NON_NEGATIVE,
                "OS-FLV-EXT-DATA:ephemeral": _NON_NEGATIVE,
                "swap": _NON_NEGATIVE,
                "rxtx_factor": {
                    "type": ["number", "string"],
                    "pattern": r"^[0-9]+(\.[0-9]+)?$",
                    "minimum": 0,
                    "exclusiveMinimum": True,
                    "maximum": 3.40282e38,
                },
                "os-flavor-access:is_public": types.boolean,
            },
            "required": ["name", "ram", "vcpus", "disk"],
            "additionalProperties": False,
        }
    },
    "required": ["flavor"],
    "additionalProperties": False,
}


def create(version: APIVersion) -> dict[str, Any]:
    schema = copy.deepcopy(_CREATE)
    props = schema["properties"]["flavor"]["properties"]
    if version.at_least("2.55"):
        props["description"] = types.description
    if version.at_least("2.102"):
        props.pop("rxtx_factor")
    return schema


UPDATE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "flavor": {
            "type": "object",
            "properties": {"description": types.description},
            "required": ["description"],
            "additionalProperties": False,
        }
    },
    "required": ["flavor"],
    "additionalProperties": False,
}
