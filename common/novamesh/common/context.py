"""Per-request context carried in contextvars: request id, caller identity, microversion."""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field

REQUEST_ID_HEADER = "x-openstack-request-id"


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    user_id: str = ""
    project_id: str = ""
    roles: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "novamesh_request_context", default=None
)


def new_request_id() -> str:
    return f"req-{uuid.uuid4()}"


def current() -> RequestContext | None:
    return _current.get()


def current_request_id() -> str:
    ctx = _current.get()
    return ctx.request_id if ctx else ""


def bind(ctx: RequestContext) -> contextvars.Token[RequestContext | None]:
    return _current.set(ctx)


def reset(token: contextvars.Token[RequestContext | None]) -> None:
    _current.reset(token)
