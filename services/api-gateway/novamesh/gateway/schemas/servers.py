"""Server request bodies per microversion (Nova's schemas/servers.py rules)."""

from __future__ import annotations

import copy
from typing import Any

from novamesh.gateway.api.microversion import APIVersion
from novamesh.gateway.schemas import types

_NETWORK: dict[str, Any] = {
    "type": "object",
    "properties": {
        "fixed_ip": {"type": "string", "oneOf": [{"format": "ipv4"}, {"format": "ipv6"}]},
        "port": {"oneOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]},
        "uuid": {"type": "string"},
    },
    "additionalProperties": False,
}

_BDM_V2: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "uuid": {"type": "string"},
            "source_type": {"type": "string", "enum": ["volume", "image", "snapshot", "blank"]},
            "destination_type": {"type": "string", "enum": ["local", "volume"]},
            "boot_index": {"type": ["integer", "string", "null"]},
            "volume_size": {"type": ["integer", "string", "null"]},
            "delete_on_termination": types.boolean,
            "device_name": {"type": "string"},
            "device_type": {"type": "string"},
            "disk_bus": {"type": "string"},
            "guest_format": {"type": "string"},
            "no_device": {},
            "tag": types.tag,
            "volume_type": {"type": ["string", "null"]},
        },
        "additionalProperties": False,
    },
}

# Nova's legacy block_device_mapping (v1) entry.
_BDM_V1: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "virtual_name": {"type": "string", "maxLength": 255},
            "volume_id": types.uuid,
            "snapshot_id": types.uuid,
            "volume_size": {
                "type": ["integer", "string"],
                "pattern": "^[0-9]+$",
                "minimum": 1,
                "maximum": 2**31 - 1,
            },
            "device_name": {
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "pattern": "^[a-zA-Z0-9._-r/]*$",
            },
            "delete_on_termination": types.boolean,
            "no_device": {},
            "connection_info": {"type": "string", "maxLength": 16777215},
        },
        "additionalProperties": False,
    },
}

_HINTS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "group": types.uuid,
        "different_host": {
            "oneOf": [{"type": "string", "format": "uuid"}, {"type": "array", "items": types.uuid}]
        },
        "same_host": {
            "oneOf": [{"type": "string", "format": "uuid"}, {"type": "array", "items": types.uuid}]
        },
        "query": {"type": ["string", "object"]},
        "target_cell": types.name,
        "different_cell": {"type": ["string", "array"], "items": {"type": "string"}},
        "build_near_host_ip": {"type": "string", "oneOf": [{"format": "ipv4"}, {"format": "ipv6"}]},
        "cidr": {"type": "string", "pattern": "^/[0-9a-f.:]+$"},
    },
    # Out-of-tree filters may take any hint.
    "additionalProperties": True,
}

_BASE_CREATE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "server": {
            "type": "object",
            "properties": {
                "name": types.name,
                "imageRef": types.image_id_or_empty,
                "flavorRef": types.flavor_ref,
                "adminPass": {"type": "string"},
                "metadata": types.metadata,
                "networks": {"type": "array", "items": _NETWORK},
                "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
                "accessIPv4": types.ipv4,
                "accessIPv6": types.ipv6,
                "personality": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "path": {"type": "string"},
                            "contents": {"type": "string", "format": "base64"},
                        },
                        "additionalProperties": False,
                    },
                },
                "availability_zone": {"type": "string", "minLength": 1, "maxLength": 255},
                "block_device_mapping": _BDM_V1,
                "block_device_mapping_v2": _BDM_V2,
                "config_drive": types.boolean,
                "key_name": types.name,
                "min_count": types.positive_integer,
                "max_count": types.positive_integer,
                "return_reservation_id": types.boolean,
                "security_groups": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"name": types.name},
                        "additionalProperties": False,
                    },
                },
                "user_data": {"type": "string", "format": "base64", "maxLength": 65535},
            },
            "required": ["name", "flavorRef"],
            "additionalProperties": False,
        },
        "os:scheduler_hints": _HINTS,
        "OS-SCH-HNT:scheduler_hints": _HINTS,
    },
    "required": ["server"],
    "additionalProperties": False,
}


def create(version: APIVersion) -> dict[str, Any]:
    schema = copy.deepcopy(_BASE_CREATE)
    server = schema["properties"]["server"]
    props = server["properties"]
    if version.at_least("2.19"):
        props["description"] = types.description
    if version.at_least("2.32"):
        props["networks"]["items"]["properties"]["tag"] = types.tag
        props["block_device_mapping_v2"]["items"]["properties"]["tag"] = types.tag
    if version.at_least("2.37"):
        props["networks"] = {
            "oneOf": [
                {"type": "array", "items": props["networks"]["items"]},
                {"type": "string", "enum": ["none", "auto"]},
            ]
        }
        server["required"] = [*server["required"], "networks"]
    if version.at_least("2.52"):
        props["tags"] = {"type": "array", "items": types.tag, "maxItems": 50}
    if version.at_least("2.57"):
        props.pop("personality")
    if version.at_least("2.63"):
        props["trusted_image_certificates"] = {
            "type": ["array", "null"],
            "minItems": 1,
            "maxItems": 50,
            "uniqueItems": True,
            "items": {"type": "string", "minLength": 1},
        }
    if version.at_least("2.74"):
        props["host"] = types.name
        props["hypervisor_hostname"] = types.name
    if version.at_least("2.90"):
        props["hostname"] = types.hostname
    if version.at_least("2.94"):
        props["hostname"] = types.fqdn
    return schema


def update(version: APIVersion) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": types.name,
        "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
        "accessIPv4": types.ipv4,
        "accessIPv6": types.ipv6,
    }
    if version.at_least("2.19"):
        props["description"] = types.description
    if version.at_least("2.90"):
        props["hostname"] = types.hostname
    if version.at_least("2.94"):
        props["hostname"] = types.fqdn
    if version.at_least("2.104"):
        props["pinned_availability_zone"] = {
            "type": ["string", "null"],
            "minLength": 1,
            "maxLength": 255,
        }
    return {
        "type": "object",
        "properties": {
            "server": {"type": "object", "properties": props, "additionalProperties": False}
        },
        "required": ["server"],
        "additionalProperties": False,
    }


def _action(name: str, member: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: member},
        "required": [name],
        "additionalProperties": False,
    }


_NULL = {"type": "null"}

ACTIONS: dict[str, dict[str, Any]] = {
    "os-start": _action("os-start", _NULL),
    "os-stop": _action("os-stop", _NULL),
    "reboot": _action(
        "reboot",
        {
            "type": "object",
            "properties": {
                "type": {
                    "type": "string",
                    "enum": ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"],
                }
            },
            "required": ["type"],
            "additionalProperties": False,
        },
    ),
    "pause": _action("pause", _NULL),
    "unpause": _action("unpause", _NULL),
    "suspend": _action("suspend", _NULL),
    "resume": _action("resume", _NULL),
    "unlock": _action("unlock", _NULL),
    "lock": _action("lock", _NULL),
}


def action(name: str, version: APIVersion) -> dict[str, Any] | None:
    if name == "lock" and version.at_least("2.73"):
        return _action(
            "lock",
            {
                "type": ["object", "null"],
                "properties": {
                    "locked_reason": {"type": "string", "minLength": 1, "maxLength": 255}
                },
                "additionalProperties": False,
            },
        )
    return ACTIONS.get(name)
