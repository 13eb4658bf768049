"""Quota request bodies (Nova's schemas/quota_sets.py and quota_classes.py)."""

from __future__ import annotations

from typing import Any

from novamesh.gateway.schemas import types

_LIMIT: dict[str, Any] = {
    "type": ["integer", "string"],
    "pattern": "^-?[0-9]+$",
    "minimum": -1,
    "maximum": 0x7FFFFFFF,
}


def _update(wrapper: str, resources: list[str], force: bool) -> dict[str, Any]:
    props: dict[str, Any] = {key: _LIMIT for key in resources}
    if force:
        props["force"] = types.boolean
    return {
        "type": "object",
        "properties": {
            wrapper: {"type": "object", "properties": props, "additionalProperties": False}
        },
        "required": [wrapper],
        "additionalProperties": False,
    }


def update_quota_set(resources: list[str]) -> dict[str, Any]:
    return _update("quota_set", resources, force=True)


def update_quota_class_set(resources: list[str]) -> dict[str, Any]:
    return _update("quota_class_set", resources, force=False)
