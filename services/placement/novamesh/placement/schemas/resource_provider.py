"""Bodies and query strings of /resource_providers."""

from typing import Any

_UUID_OR_NULL = {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]}


def post(v14: bool) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": {"type": "string", "maxLength": 200},
        "uuid": {"type": "string", "format": "uuid"},
    }
    if v14:
        props["parent_provider_uuid"] = _UUID_OR_NULL
    return {
        "type": "object",
        "properties": props,
        "required": ["name"],
        "additionalProperties": False,
    }


def put(v14: bool) -> dict[str, Any]:
    schema = post(v14)
    del schema["properties"]["uuid"]
    return schema


def query(minor: int) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": {"type": "string"},
        "uuid": {"type": "string", "format": "uuid"},
    }
    if minor >= 3:
        props["member_of"] = {"type": "string"}
    if minor >= 4:
        props["resources"] = {"type": "string"}
    if minor >= 14:
        props["in_tree"] = {"type": "string", "format": "uuid"}
    if minor >= 18:
        props["required"] = {"type": "string"}
    return {"type": "object", "properties": props, "additionalProperties": False}
