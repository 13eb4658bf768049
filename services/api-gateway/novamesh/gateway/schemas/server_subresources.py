"""Request bodies of the server sub-resources (Nova's schemas/server_metadata.py and
schemas/server_tags.py)."""

from __future__ import annotations

import copy
from typing import Any

from novamesh.gateway.schemas import types

_one_item = copy.deepcopy(types.metadata)
_one_item.update(minProperties=1, maxProperties=1)

metadata_all: dict[str, Any] = {
    "type": "object",
    "properties": {"metadata": types.metadata},
    "required": ["metadata"],
    "additionalProperties": False,
}

metadata_item: dict[str, Any] = {
    "type": "object",
    "properties": {"meta": _one_item},
    "required": ["meta"],
    "additionalProperties": False,
}

# Items are checked by the handler, which names every invalid tag in one message as Nova does.
tags_all: dict[str, Any] = {
    "type": "object",
    "properties": {"tags": {"type": "array"}},
    "required": ["tags"],
    "additionalProperties": False,
}
