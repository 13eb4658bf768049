"""Glance v2 JSON schemas: served at /v2/schemas/* and used to validate request bodies.

The image schema is permissive as Glance's is: any extra property is allowed as long as its
value is a string.
"""

from __future__ import annotations

from typing import Any

import jsonschema

_UUID = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"

IMAGE_STATUSES = [
    "queued",
    "saving",
    "active",
    "killed",
    "deleted",
    "uploading",
    "importing",
    "pending_delete",
    "deactivated",
]


def _nullable(tp: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": ["null", tp], "description": description, **extra}


def _readonly(spec: dict[str, Any]) -> dict[str, Any]:
    return {**spec, "readOnly": True}


def image_properties(disk_formats: list[str], container_formats: list[str]) -> dict[str, Any]:
    return {
        "id": {"type": "string", "description": "An identifier for the image", "pattern": _UUID},
        "name": _nullable("string", "Descriptive name for the image", maxLength=255),
        "status": _readonly(
            {"type": "string", "description": "Status of the image", "enum": IMAGE_STATUSES}
        ),
        "visibility": {
            "type": "string",
            "description": "Scope of image accessibility",
            "enum": ["community", "public", "private", "shared"],
        },
        "protected": {"type": "boolean", "description": "If true, image will not be deletable."},
        "os_hidden": {
            "type": "boolean",
            "description": "If true, image will not appear in default image list response.",
        },
        "checksum": _readonly(_nullable("string", "md5 hash of image contents.", maxLength=32)),
        "os_hash_algo": _readonly(
            _nullable("string", "Algorithm to calculate the os_hash_value", maxLength=64)
        ),
        "os_hash_value": _readonly(
            _nullable(
                "string",
                "Hexdigest of the image contents using the algorithm specified by the os_hash_algo",
                maxLength=128,
            )
        ),
        "owner": _nullable("string", "Owner of the image", maxLength=255),
        "size": _readonly(_nullable("integer", "Size of image file in bytes")),
        "virtual_size": _readonly(_nullable("integer", "Virtual size of image in bytes")),
        "container_format": _nullable(
            "string", "Format of the container", enum=[None, *container_formats]
        ),
        "disk_format": _nullable("string", "Format of the disk", enum=[None, *disk_formats]),
        "created_at": _readonly(
            {"type": "string", "description": "Date and time of image registration"}
        ),
        "updated_at": _readonly(
            {"type": "string", "description": "Date and time of the last image modification"}
        ),
        "tags": {
            "type": "array",
            "description": "List of strings related to the image",
            "items": {"type": "string", "maxLength": 255},
        },
        "direct_url": _readonly(
            {"type": "string", "description": "URL to access the image file kept in external store"}
        ),
        "min_ram": {
            "type": "integer",
            "description": "Amount of ram (in MB) required to boot image.",
        },
        "min_disk": {
            "type": "integer",
            "description": "Amount of disk space (in GB) required to boot image.",
        },
        "self": _readonly({"type": "string", "description": "An image self url"}),
        "file": _readonly({"type": "string", "description": "An image file url"}),
        "stores": _readonly(
            {"type": "string", "description": "Store in which image data resides."}
        ),
        "schema": _readonly({"type": "string", "description": "An image schema url"}),
        "locations": {
            "type": "array",
            "description": "A set of URLs to access the image file kept in external store",
            "items": {
                "type": "object",
                "properties": {
                    "url": {"type": "string", "maxLength": 255},
                    "metadata": {"type": "object"},
                },
                "required": ["url", "metadata"],
            },
        },
    }


def image_schema(disk_formats: list[str], container_formats: list[str]) -> dict[str, Any]:
    return {
        "name": "image",
        "properties": image_properties(disk_formats, container_formats),
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


def images_schema(disk_formats: list[str], container_formats: list[str]) -> dict[str, Any]:
    return {
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image_schema(disk_formats, container_formats)},
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


MEMBER_SCHEMA: dict[str, Any] = {
    "name": "member",
    "properties": {
        "created_at": {"type": "string", "description": "Date and time of image member creation"},
        "image_id": {
            "type": "string",
            "description": "An identifier for the image",
            "pattern": _UUID,
        },
        "member_id": {
            "type": "string",
            "description": "An identifier for the image member (tenantId)",
        },
        "schema": {"type": "string", "readOnly": True},
        "status": {
            "type": "string",
            "description": "The status of this image member",
            "enum": ["pending", "accepted", "rejected"],
        },
        "updated_at": {
            "type": "string",
            "description": "Date and time of last modification of image member",
        },
    },
}

MEMBERS_SCHEMA: dict[str, Any] = {
    "name": "members",
    "properties": {
        "members": {"type": "array", "items": MEMBER_SCHEMA},
        "schema": {"type": "string"},
    },
    "links": [{"rel": "describedby", "href": "{schema}"}],
}


def validate(schema: dict[str, Any], obj: object) -> str | None:
    """The first validation failure, worded like Glance's, or None."""
    validator = jsonschema.Draft4Validator(
        {"type": "object", **{k: v for k, v in schema.items() if k != "links"}}
    )
    error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.path)
    return f"Provided object does not match schema '{schema['name']}': {error.message}" + (
        f" (at '{where}')" if where else ""
    )
