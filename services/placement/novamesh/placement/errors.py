"""Domain errors, each with a kind (what went wrong) and placement's error code.

The REST face maps a kind to an HTTP status (through a gRPC code); the typed gRPC service maps
it to a gRPC status code. Codes are upstream placement's `errors.py` symbols.
"""

from __future__ import annotations

import enum

DEFAULT = "placement.undefined_code"
INVENTORY_INUSE = "placement.inventory.inuse"
CONCURRENT_UPDATE = "placement.concurrent_update"
DUPLICATE_NAME = "placement.duplicate_name"
PROVIDER_IN_USE = "placement.resource_provider.inuse"
PROVIDER_CANNOT_DELETE_PARENT = "placement.resource_provider.cannot_delete_parent"
RESOURCE_PROVIDER_NOT_FOUND = "placement.resource_provider.not_found"
ILLEGAL_DUPLICATE_QUERYPARAM = "placement.query.duplicate_key"
QUERYPARAM_BAD_VALUE = "placement.query.bad_value"
QUERYPARAM_MISSING_VALUE = "placement.query.missing_value"


class Kind(enum.Enum):
    INVALID = 400
    UNAUTHORIZED = 401
    FORBIDDEN = 403
    NOT_FOUND = 404
    METHOD_NOT_ALLOWED = 405
    NOT_ACCEPTABLE = 406
    CONFLICT = 409
    UNSUPPORTED_MEDIA_TYPE = 415


class PlacementError(Exception):
    def __init__(self, kind: Kind, message: str, code: str = DEFAULT) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.code = code


def invalid(message: str, code: str = DEFAULT) -> PlacementError:
    return PlacementError(Kind.INVALID, message, code)


def not_found(message: str, code: str = DEFAULT) -> PlacementError:
    return PlacementError(Kind.NOT_FOUND, message, code)


def conflict(message: str, code: str = DEFAULT) -> PlacementError:
    return PlacementError(Kind.CONFLICT, message, code)


def forbidden(message: str) -> PlacementError:
    return PlacementError(Kind.FORBIDDEN, message)


def concurrent_update(what: str = "resource provider") -> PlacementError:
    return conflict(
        f"{what} generation conflict: another process updated it concurrently. Please retry.",
        CONCURRENT_UPDATE,
    )
