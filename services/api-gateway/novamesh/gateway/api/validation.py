"""JSON body validation with Nova's jsonschema conventions and messages."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from jsonschema import Draft4Validator, FormatChecker
from novamesh.gateway.api.errors import BadRequest

_FORMATS = FormatChecker()


def parse_body(raw: bytes) -> Any:
    if not raw or not raw.strip():
        raise BadRequest("The request body is invalid or missing.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed request body") from None


def validate(schema: dict[str, Any], body: Any) -> None:
    """Raise BadRequest with Nova's message for the first schema violation."""
    validator = Draft4Validator(schema, format_checker=_FORMATS)
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is None:
        return
    if error.path:
        field = error.path[-1]
        raise BadRequest(
            f"Invalid input for field/attribute {field}. Value: {_render(error.instance)}. "
            f"{error.message}"
        )
    raise BadRequest(error.message)


def _render(value: Any) -> str:
    # Nova formats the offending value with Python's str(), so mimic it.
    return str(value)
