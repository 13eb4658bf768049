"""API errors as Nova reports them: an HTTP status and a user-facing message.

Domain code raises these; each face maps them (the REST face to gRPC codes that the edge turns
into Nova fault bodies, the typed face to plain gRPC codes).
"""

from __future__ import annotations


class ApiError(Exception):
    status = 500

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class MethodNotAllowed(ApiError):
    status = 405


class NotAcceptable(ApiError):
    status = 406


class Conflict(ApiError):
    status = 409


class TooLarge(ApiError):
    status = 413


class NotImplementedYet(ApiError):
    status = 501


class Unavailable(ApiError):
    status = 503


def instance_not_found(uuid: str) -> NotFound:
    return NotFound(f"Instance {uuid} could not be found.")


def invalid_state(uuid: str, attr: str, state: str, action: str) -> Conflict:
    # Nova's InstanceInvalidState message, verbatim.
    return Conflict(
        f"Cannot '{action}' instance {uuid} while it is in {attr} {state}",
    )
