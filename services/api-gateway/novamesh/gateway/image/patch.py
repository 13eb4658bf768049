"""Glance's JSON-patch dialects for `PATCH /v2/images/{id}`.

`application/openstack-images-v2.1-json-patch` is RFC 6902 (`{"op": "replace", "path": "/name",
"value": ...}`); the older `...-v2.0-json-patch` writes the operation as the key
(`{"replace": "/name", "value": ...}`). Both are parsed into the same `Change` list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from novamesh.gateway.image.domain import BadRequest, UnsupportedMediaType

MEDIA_TYPES = {
    "application/openstack-images-v2.0-json-patch": 4,
    "application/openstack-images-v2.1-json-patch": 10,
}
OPERATIONS = ("add", "remove", "replace")


@dataclass(frozen=True)
class Change:
    op: str
    # The top-level attribute the change is about (paths deeper than one level are refused).
    attr: str
    value: Any = None
    # True for the v2.0 dialect, where `add` of an existing property is a conflict.
    strict_add: bool = False


def _decode_pointer(pointer: object) -> list[str]:
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise BadRequest(f"Pointer `{pointer}` does not start with '/'.")
    parts = pointer[1:].split("/")
    out = []
    for part in parts:
        if "~" in part.replace("~0", "").replace("~1", ""):
            raise BadRequest(f"Pointer `{pointer}` contains '~' not part of a recognized escape.")
        if part == "":
            raise BadRequest(f"Pointer `{pointer}` contains adjacent '/'.")
        out.append(part.replace("~1", "/").replace("~0", "~"))
    return out


def _operation(raw: dict[str, Any], draft: int) -> tuple[str, object]:
    if draft == 10:
        if "op" not in raw:
            raise BadRequest(
                "Unable to find `op` in JSON Schema change. It must be one of the "
                "following: add, remove, replace."
            )
        op = raw["op"]
        if op not in OPERATIONS:
            raise BadRequest(
                f"Invalid operation: `{op}`. It must be one of the following: add, remove, replace."
            )
        if "path" not in raw:
            raise BadRequest("Unable to find '/path' in JSON Schema change")
        return str(op), raw["path"]
    found = [op for op in OPERATIONS if op in raw]
    if len(found) != 1:
        raise BadRequest(
            'Operation objects must contain exactly one member named "add", "remove", or "replace".'
        )
    return found[0], raw[found[0]]


def parse(content_type: str, body: object) -> list[Change]:
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in MEDIA_TYPES:
        allowed = ", ".join(sorted(MEDIA_TYPES))
        raise UnsupportedMediaType(f"Image PATCH expects Content-Type one of: {allowed}")
    draft = MEDIA_TYPES[media]
    if not isinstance(body, list):
        raise BadRequest("Request body must be a JSON array of operation objects.")
    changes = []
    for raw in body:
        if not isinstance(raw, dict):
            raise BadRequest("Operations must be JSON objects.")
        op, pointer = _operation(raw, draft)
        path = _decode_pointer(pointer)
        if len(path) != 1:
            raise BadRequest(f"Invalid JSON pointer for this resource: '/{'/'.join(path)}'")
        if op != "remove" and "value" not in raw:
            raise BadRequest(f'Operation "{op}" requires a member named "value".')
        changes.append(Change(op, path[0], raw.get("value"), strict_add=draft == 4))
    return changes
