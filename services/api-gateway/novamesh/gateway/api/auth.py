"""Who is calling: the noauth strategy (Keystone tokens are not supported yet).

noauth reads `X-Auth-Token: user[:project]`; the project defaults to the user; the user `admin`
gets the admin role. With no token at all the configured default identity (an admin) is used, so
a bare `curl` works against a development mesh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from novamesh.common.config import AuthConfig
from novamesh.gateway.api.errors import Unauthorized


@dataclass(frozen=True)
class Identity:
    user_id: str
    project_id: str
    roles: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def _roles(user: str) -> tuple[str, ...]:
    return ("admin", "member", "reader") if user == "admin" else ("member", "reader")


def authenticate(cfg: AuthConfig, headers: Mapping[str, str]) -> Identity:
    if cfg.strategy != "noauth":
        raise Unauthorized("The request you have made requires authentication.")
    token = headers.get("x-auth-token", "").strip()
    if not token:
        user, project = cfg.default_user, cfg.default_project
        return Identity(user, project, _roles("admin"))
    user, _, project = token.partition(":")
    project = project or user
    return Identity(user, project, _roles(user))
