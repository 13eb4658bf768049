"""Remote console request bodies (Nova's schemas/remote_consoles.py)."""

from __future__ import annotations

from typing import Any

from novamesh.gateway.api.microversion import APIVersion


def remote_console(version: APIVersion) -> dict[str, Any]:
    protocols = ["vnc", "spice", "rdp", "serial"]
    types = ["novnc", "xvpvnc", "rdp-html5", "spice-html5", "serial"]
    if version.at_least("2.8"):
        protocols.append("mks")
        types.append("webmks")
    if version.at_least("2.99"):
        types.append("spice-direct")
    return {
        "type": "object",
        "properties": {
            "remote_console": {
                "type": "object",
                "properties": {
                    "protocol": {"type": "string", "enum": protocols},
                    "type": {"type": "string", "enum": types},
                },
                "required": ["protocol", "type"],
                "additionalProperties": False,
            }
        },
        "required": ["remote_console"],
        "additionalProperties": False,
    }


# The pre-2.6 actions: action name -> (protocol, console types).
LEGACY_ACTIONS: dict[str, tuple[str, list[str]]] = {
    "os-getVNCConsole": ("vnc", ["novnc", "xvpvnc"]),
    "os-getSPICEConsole": ("spice", ["spice-html5"]),
    "os-getRDPConsole": ("rdp", ["rdp-html5"]),
    "os-getSerialConsole": ("serial", ["serial"]),
}


def legacy_action(name: str) -> dict[str, Any]:
    _, types = LEGACY_ACTIONS[name]
    return {
        "type": "object",
        "properties": {
            name: {
                "type": "object",
                "properties": {"type": {"type": "string", "enum": types}},
                "required": ["type"],
                "additionalProperties": False,
            }
        },
        "required": [name],
        "additionalProperties": False,
    }
