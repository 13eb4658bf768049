"""Bodies of /resource_providers/{uuid}/inventories."""

from typing import Any

from novamesh.placement.schemas.common import MAX_INT, RC_PATTERN, SQL_SP_FLOAT_MAX


def _int(minimum: int) -> dict[str, Any]:
    return {"type": "integer", "maximum": MAX_INT, "minimum": minimum}


def base() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "resource_provider_generation": {"type": "integer"},
            "total": _int(1),
            "reserved": _int(0),
            "min_unit": _int(1),
            "max_unit": _int(1),
            "step_size": _int(1),
            "allocation_ratio": {"type": "number", "maximum": SQL_SP_FLOAT_MAX},
        },
        "required": ["total", "resource_provider_generation"],
        "additionalProperties": False,
    }


def post() -> dict[str, Any]:
    s = base()
    s["properties"]["resource_class"] = {"type": "string", "pattern": RC_PATTERN}
    s["required"] = ["total", "resource_class"]
    return s


def put_all() -> dict[str, Any]:
    record = base()
    record["required"] = ["total"]
    return {
        "type": "object",
        "properties": {
            "resource_provider_generation": {"type": "integer"},
            "inventories": {"type": "object", "patternProperties": {RC_PATTERN: record}},
        },
        "required": ["resource_provider_generation", "inventories"],
        "additionalProperties": False,
    }
