"""os-server-diagnostics: admin-only, and only for a server that has a host to ask.

The checks are Nova's (policy, a host, no delete or migration in progress). Asking the host's
driver for its numbers needs a query over the agent channel that the router does not carry
yet, so an allowed request ends as Nova's answer for a driver without diagnostics (501).
"""

from __future__ import annotations

from typing import Any

from novamesh.gateway.api import errors, policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.microversion import APIVersion
from novamesh.gateway.domain import servers
from novamesh.gateway.domain.deps import Deps

RULE = "os_compute_api:os-server-diagnostics"
policy.register(RULE, "rule:admin_api", "Show the diagnostics of a server")

# Nova: reject_instance_state(task_state=[DELETING, MIGRATING]).
_BUSY_TASKS = ("deleting", "migrating")


async def get(deps: Deps, who: Identity, uuid: str, version: APIVersion) -> dict[str, Any]:
    inst = await servers.get(deps, who, uuid)
    policy.authorize(who, RULE, inst.project_id)
    if not inst.host:
        raise errors.Conflict(f"Instance {uuid} is not ready")
    if inst.task_state in _BUSY_TASKS:
        raise errors.invalid_state(uuid, "task_state", inst.task_state, "get_diagnostics")
    raise errors.NotImplementedYet("Unable to get diagnostics, functionality not implemented")
