"""Request bodies of the server actions beyond the power ones (Nova's schemas, per version)."""

from __future__ import annotations

from typing import Any

from novamesh.gateway.api.microversion import APIVersion
from novamesh.gateway.schemas import types


def _action(name: str, member: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: member},
        "required": [name],
        "additionalProperties": False,
    }


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


_NULL = {"type": "null"}
_PASSWORD = {"type": "string"}
_HOST = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": "^[a-zA-Z0-9-._]*$",
}

_RESIZE = _obj(
    {"flavorRef": types.flavor_ref, "OS-DCF:diskConfig": {"enum": ["AUTO", "MANUAL"]}},
    ["flavorRef"],
)
_RESCUE = {
    "type": ["object", "null"],
    "properties": {"adminPass": _PASSWORD, "rescue_image_ref": types.uuid},
    "additionalProperties": False,
}
_CONSOLE = {
    "type": ["object", "null"],
    "properties": {
        "length": {"type": ["integer", "string", "null"], "pattern": "^-?[0-9]+$", "minimum": -1}
    },
    "additionalProperties": False,
}

ACTIONS: dict[str, dict[str, Any]] = {
    "resize": _action("resize", _RESIZE),
    "confirmResize": _action("confirmResize", _NULL),
    "revertResize": _action("revertResize", _NULL),
    "migrate": _action("migrate", _NULL),
    "rescue": _action("rescue", _RESCUE),
    "unrescue": _action("unrescue", _NULL),
    "changePassword": _action("changePassword", _obj({"adminPass": _PASSWORD}, ["adminPass"])),
    "os-resetState": _action(
        "os-resetState", _obj({"state": {"type": "string", "enum": ["active", "error"]}}, ["state"])
    ),
    "os-getConsoleOutput": _action("os-getConsoleOutput", _CONSOLE),
    "createImage": _action(
        "createImage", _obj({"name": types.name, "metadata": types.metadata}, ["name"])
    ),
    "createBackup": _action(
        "createBackup",
        _obj(
            {
                "name": types.name,
                "backup_type": {"type": "string"},
                "rotation": {
                    "type": ["integer", "string"],
                    "pattern": "^[0-9]+$",
                    "minimum": 0,
                },
                "metadata": types.metadata,
            },
            ["name", "backup_type", "rotation"],
        ),
    ),
    "shelve": _action("shelve", _NULL),
    "shelveOffload": _action("shelveOffload", _NULL),
    "unshelve": _action("unshelve", _NULL),
    "restore": _action("restore", _NULL),
    "forceDelete": _action("forceDelete", _NULL),
    "injectNetworkInfo": _action("injectNetworkInfo", _NULL),
}


def rebuild(version: APIVersion) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": types.name,
        "imageRef": {"type": "string", "minLength": 1},
        "adminPass": _PASSWORD,
        "metadata": types.metadata,
        "preserve_ephemeral": types.boolean,
        "OS-DCF:diskConfig": {"enum": ["AUTO", "MANUAL"]},
        "accessIPv4": types.ipv4,
        "accessIPv6": types.ipv6,
    }
    if not version.at_least("2.57"):
        props["personality"] = {"type": "array", "items": {"type": "object"}}
    if version.at_least("2.19"):
        props["description"] = {"oneOf": [types.description, {"type": "null"}]}
    if version.at_least("2.54"):
        props["key_name"] = {"oneOf": [types.name, {"type": "null"}]}
    if version.at_least("2.57"):
        props["user_data"] = {
            "oneOf": [{"type": "string", "format": "base64", "maxLength": 65535}, {"type": "null"}]
        }
    if version.at_least("2.63"):
        props["trusted_image_certificates"] = {
            "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]
        }
    if version.at_least("2.90"):
        props["hostname"] = types.hostname
    return _action("rebuild", _obj(props, ["imageRef"]))


def migrate_live(version: APIVersion) -> dict[str, Any]:
    block: dict[str, Any] = types.boolean
    props: dict[str, Any] = {"host": {"oneOf": [_HOST, {"type": "null"}]}}
    required = ["block_migration", "host"]
    if version.at_least("2.25"):
        block = {"oneOf": [types.boolean, {"type": "string", "enum": ["auto"]}]}
    else:
        props["disk_over_commit"] = types.boolean
        required.append("disk_over_commit")
    props["block_migration"] = block
    if version.at_least("2.30") and not version.at_least("2.68"):
        props["force"] = types.boolean
    return _action("os-migrateLive", _obj(props, required))


def evacuate(version: APIVersion) -> dict[str, Any]:
    props: dict[str, Any] = {"host": _HOST, "adminPass": _PASSWORD}
    required: list[str] = []
    if not version.at_least("2.14"):
        props["onSharedStorage"] = types.boolean
        required.append("onSharedStorage")
    if version.at_least("2.29") and not version.at_least("2.68"):
        props["force"] = types.boolean
    return _action("evacuate", _obj(props, required))


def action(name: str, version: APIVersion) -> dict[str, Any] | None:
    if name == "rebuild":
        return rebuild(version)
    if name == "os-migrateLive":
        return migrate_live(version)
    if name == "evacuate":
        return evacuate(version)
    if name == "unshelve" and version.at_least("2.91"):
        zone = {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 255}, {"type": "null"}]}
        return _action(
            "unshelve",
            {
                "type": ["object", "null"],
                "properties": {"availability_zone": zone, "host": _HOST},
                "additionalProperties": False,
            },
        )
    if name == "unshelve" and version.at_least("2.77"):
        return _action(
            "unshelve",
            {
                "type": ["object", "null"],
                "properties": {"availability_zone": {"type": "string", "minLength": 1}},
                "required": ["availability_zone"],
                "additionalProperties": False,
            },
        )
    if name == "trigger_crash_dump":
        return _action(name, _NULL) if version.at_least("2.17") else None
    if name == "migrate" and version.at_least("2.56"):
        return _action(
            "migrate",
            {
                "type": ["object", "null"],
                "properties": {"host": {"oneOf": [_HOST, {"type": "null"}]}},
                "additionalProperties": False,
            },
        )
    return ACTIONS.get(name)
