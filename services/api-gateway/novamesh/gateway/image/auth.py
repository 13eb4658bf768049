"""Who is calling the image service.

REST calls arrive through Envoy with the client's headers as metadata. With the `noauth`
strategy the token is `user[:project]` (no token: the configured default user and project) and
user `admin` gets the admin role, as everywhere in the mesh. Other strategies are resolved by
whatever authenticates in front of the service, which passes the identity on in the mesh's
request-context metadata; that is what typed (internal) calls use too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from novamesh.common import context
from novamesh.common.config import AuthConfig
from novamesh.gateway.image.domain import Caller

Authenticator = Callable[[Mapping[str, str]], Caller]


def from_request_context() -> Caller:
    ctx = context.current()
    if ctx is None:
        return Caller(user_id="", project_id="")
    return Caller(user_id=ctx.user_id, project_id=ctx.project_id, roles=ctx.roles)


def noauth(cfg: AuthConfig) -> Authenticator:
    def authenticate(md: Mapping[str, str]) -> Caller:
        token = md.get("x-auth-token", "").strip()
        if not token:
            user, project = cfg.default_user, cfg.default_project
        else:
            user, _, project = token.partition(":")
            project = project or user
        roles = ("admin", "member", "reader") if user == "admin" else ("member", "reader")
        return Caller(user_id=user, project_id=project, roles=roles)

    return authenticate


def for_config(cfg: AuthConfig) -> Authenticator:
    if cfg.strategy == "noauth":
        return noauth(cfg)
    return lambda _md: from_request_context()
