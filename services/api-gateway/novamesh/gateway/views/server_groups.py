"""Server group bodies per microversion: `policies` + `metadata` until 2.63, `policy` + `rules`
from 2.64; owner ids from 2.13."""

from __future__ import annotations

from typing import Any

from novamesh.gateway.api.microversion import APIVersion
from novamesh.gateway.domain.server_groups import ServerGroup


def show(version: APIVersion, group: ServerGroup) -> dict[str, Any]:
    view: dict[str, Any] = {"id": group.uuid, "name": group.name}
    if version.at_least("2.64"):
        view["policy"] = group.policy
        view["rules"] = dict(group.rules)
    else:
        view["policies"] = [group.policy]
        view["metadata"] = {}
    view["members"] = list(group.members)
    if version.at_least("2.13"):
        view["project_id"] = group.project_id
        view["user_id"] = group.user_id
    return view
