"""os-interface request bodies (Nova's schemas/attach_interfaces.py)."""

from __future__ import annotations

from typing import Any

from novamesh.gateway.api.microversion import APIVersion
from novamesh.gateway.schemas import types


def create(version: APIVersion) -> dict[str, Any]:
    attachment: dict[str, Any] = {
        "type": "object",
        "properties": {
            "net_id": {"type": "string", "format": "uuid"},
            "port_id": {"type": "string", "format": "uuid"},
            "fixed_ips": {
                "type": "array",
                "minItems": 1,
                "maxItems": 1,
                "items": {
                    "type": "object",
                    "properties": {"ip_address": {"type": "string", "format": "ipv4"}},
                    "required": ["ip_address"],
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    }
    if version.at_least("2.49"):
        attachment["properties"]["tag"] = types.tag
    return {
        "type": "object",
        "properties": {"interfaceAttachment": attachment},
        "additionalProperties": False,
    }
