"""Volume request bodies (Nova's schemas/volumes.py: os-volumes and os-volume_attachments)."""

from __future__ import annotations

import copy
from typing import Any

from novamesh.gateway.api.microversion import APIVersion
from novamesh.gateway.schemas import types

_DEVICE = {
    "type": ["string", "null"],
    "pattern": "(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$",
}


def _wrap(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "volumeAttachment": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            }
        },
        "required": ["volumeAttachment"],
        "additionalProperties": False,
    }


def attach(version: APIVersion) -> dict[str, Any]:
    props: dict[str, Any] = {"volumeId": types.uuid, "device": _DEVICE}
    if version.at_least("2.49"):
        props["tag"] = types.tag
    if version.at_least("2.79"):
        props["delete_on_termination"] = types.boolean
    return _wrap(props, ["volumeId"])


def update(version: APIVersion) -> dict[str, Any]:
    props: dict[str, Any] = {"volumeId": types.uuid}
    if version.at_least("2.85"):
        props.update(
            id=types.uuid,
            serverId=types.uuid,
            device=_DEVICE,
            tag=types.tag,
            delete_on_termination=types.boolean,
        )
    return _wrap(props, ["volumeId"])


_SIZE = copy.deepcopy(types.positive_integer)

create_volume: dict[str, Any] = {
    "type": "object",
    "properties": {
        "volume": {
            "type": "object",
            "properties": {
                "volume_type": {"type": "string"},
                "metadata": {"type": "object"},
                "snapshot_id": {"type": "string"},
                "size": _SIZE,
                "availability_zone": {"type": "string"},
                "display_name": {"type": "string"},
                "display_description": {"type": "string"},
            },
            "required": ["size"],
            "additionalProperties": False,
        }
    },
    "required": ["volume"],
    "additionalProperties": False,
}
