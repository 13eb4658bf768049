"""os-server-diagnostics: admin-only, for a server whose host can be asked.

Checks are Nova's (policy, a host, no delete or migration in progress); the numbers come from
the host's driver through the router. One GetInstance plus one GetDiagnostics.
"""

from __future__ import annotations

from novamesh.cells.v1 import server_devices_pb2 as sd
from novamesh.gateway.api import errors, policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.domain import servers
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.domain.device_ports import Devices

RULE = "os_compute_api:os-server-diagnostics"
policy.register(RULE, "rule:admin_api", "Show the diagnostics of a server")

# Nova: reject_instance_state(task_state=[DELETING, MIGRATING]).
_BUSY_TASKS = ("deleting", "migrating")


async def get(deps: Deps, devices: Devices, who: Identity, uuid: str) -> sd.ServerDiagnostics:
    inst = await servers.get(deps, who, uuid)
    policy.authorize(who, RULE, inst.project_id)
    if not inst.host:
        raise errors.Conflict(f"Instance {uuid} is not ready")
    if inst.task_state in _BUSY_TASKS:
        raise errors.invalid_state(uuid, "task_state", inst.task_state, "get_diagnostics")
    try:
        return await devices.diagnostics(uuid)
    except errors.NotImplementedYet:
        raise errors.NotImplementedYet(
            "Unable to get diagnostics, functionality not implemented"
        ) from None
