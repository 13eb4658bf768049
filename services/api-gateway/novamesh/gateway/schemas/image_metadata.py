"""Request bodies of Nova's image metadata proxy (all of it, or one item)."""

from __future__ import annotations

from typing import Any

from novamesh.gateway.schemas import types

# POST (merge) and PUT (replace all).
ALL: dict[str, Any] = {
    "type": "object",
    "properties": {"metadata": types.metadata},
    "required": ["metadata"],
    "additionalProperties": False,
}

# PUT /images/{id}/metadata/{key}: exactly one item.
ONE: dict[str, Any] = {
    "type": "object",
    "properties": {"meta": {**types.metadata, "minProperties": 1, "maxProperties": 1}},
    "required": ["meta"],
    "additionalProperties": False,
}
