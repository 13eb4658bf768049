"""Keypair request bodies (Nova's schemas/keypairs.py)."""

from __future__ import annotations

from typing import Any

from novamesh.gateway.api.microversion import APIVersion

_NAME = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": r"^[a-zA-Z0-9 @._-]+$",
}


def create(version: APIVersion) -> dict[str, Any]:
    props: dict[str, Any] = {"name": _NAME, "public_key": {"type": "string"}}
    if version.at_least("2.2"):
        props["type"] = {"type": "string", "enum": ["ssh", "x509"]}
    if version.at_least("2.10"):
        props["user_id"] = {"type": "string"}
    required = ["name", "public_key"] if version.at_least("2.92") else ["name"]
    return {
        "type": "object",
        "properties": {
            "keypair": {
                "type": "object",
                "properties": props,
                "required": required,
                "additionalProperties": False,
            }
        },
        "required": ["keypair"],
        "additionalProperties": False,
    }
