"""Server group request bodies (Nova's schemas/server_groups.py)."""

from __future__ import annotations

from typing import Any

from novamesh.gateway.api.microversion import APIVersion
from novamesh.gateway.schemas import types


def create(version: APIVersion) -> dict[str, Any]:
    hard = ["anti-affinity", "affinity"]
    allowed = [*hard, "soft-anti-affinity", "soft-affinity"] if version.at_least("2.15") else hard
    props: dict[str, Any] = {"name": types.name}
    if version.at_least("2.64"):
        props["policy"] = {"type": "string", "enum": allowed}
        props["rules"] = {
            "type": "object",
            "properties": {"max_server_per_host": types.positive_integer},
            "additionalProperties": False,
        }
        required = ["name", "policy"]
    else:
        props["policies"] = {
            "type": "array",
            "items": [{"type": "string", "enum": allowed}],
            "uniqueItems": True,
            "minItems": 1,
            "maxItems": 1,
            "additionalItems": False,
        }
        required = ["name", "policies"]
    return {
        "type": "object",
        "properties": {
            "server_group": {
                "type": "object",
                "properties": props,
                "required": required,
                "additionalProperties": False,
            }
        },
        "required": ["server_group"],
        "additionalProperties": False,
    }
