"""Resize and cold migration as the API sees them: checks, then the router's MoveInstance."""

from __future__ import annotations

from novamesh.cells.v1 import actions_pb2, router_pb2
from novamesh.gateway.api import policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import BadRequest
from novamesh.gateway.clients import actions as actions_client
from novamesh.gateway.db import catalog
from novamesh.gateway.domain import actions, quotas
from novamesh.gateway.domain.boot import to_flavor
from novamesh.gateway.domain.deps import Deps


async def resize(
    deps: Deps, who: Identity, request_id: str, inst: router_pb2.Instance, flavor_ref: str
) -> router_pb2.Instance:
    tr = actions.TRANSITIONS["resize"]
    policy.authorize(who, tr.policy, inst.project_id)
    actions.check(who, inst, tr)
    flavor_id = flavor_ref.rstrip("/").rsplit("/", 1)[-1]
    flavor = await catalog.get_flavor(deps.sessions, flavor_id)
    visible = flavor is not None and (
        flavor.is_public
        or who.is_admin
        or any(p.project_id == who.project_id for p in flavor.projects)
    )
    if flavor is None or flavor.disabled or not visible:
        raise BadRequest("Unable to locate requested flavor.")
    if flavor.flavorid == inst.flavor.id:
        raise BadRequest("When resizing, instances must change flavor!")
    if flavor.root_gb == 0 and inst.flavor.root_gb > 0:
        raise BadRequest(
            "Server disk was unable to be resized because: "
            "Resize to zero disk flavor is not allowed."
        )
    await quotas.check_resize(
        deps,
        inst.project_id,
        inst.user_id,
        flavor.vcpus - inst.flavor.vcpus,
        flavor.memory_mb - inst.flavor.memory_mb,
    )
    return await actions_client.for_target(deps.cfg.endpoints.router).move(
        actions_pb2.MoveInstanceRequest(
            uuid=inst.uuid,
            migration_type="resize",
            flavor=to_flavor(flavor),
            expected_vm_states=tr.vm_states or [],
            request_id=request_id,
            action="resize",
        )
    )


async def migrate(
    deps: Deps, who: Identity, request_id: str, inst: router_pb2.Instance, host: str | None
) -> router_pb2.Instance:
    tr = actions.TRANSITIONS["migrate"]
    policy.authorize(who, tr.policy, inst.project_id)
    if host:
        policy.authorize(who, f"{tr.policy}:host", inst.project_id)
    actions.check(who, inst, tr)
    return await actions_client.for_target(deps.cfg.endpoints.router).move(
        actions_pb2.MoveInstanceRequest(
            uuid=inst.uuid,
            migration_type="migration",
            host=host or "",
            expected_vm_states=tr.vm_states or [],
            request_id=request_id,
            action="migrate",
        )
    )


async def live_migrate(
    deps: Deps, who: Identity, request_id: str, inst: router_pb2.Instance, host: str | None
) -> router_pb2.Instance:
    return await _move(deps, who, request_id, inst, "live-migration", host or "", "")


async def evacuate(
    deps: Deps,
    who: Identity,
    request_id: str,
    inst: router_pb2.Instance,
    host: str | None,
    admin_pass: str,
) -> router_pb2.Instance:
    """The router refuses (400) while the server's host is up, as Nova does."""
    return await _move(deps, who, request_id, inst, "evacuation", host or "", admin_pass)


async def _move(
    deps: Deps,
    who: Identity,
    request_id: str,
    inst: router_pb2.Instance,
    kind: str,
    host: str,
    admin_pass: str,
) -> router_pb2.Instance:
    key = "evacuate" if kind == "evacuation" else kind
    tr = actions.TRANSITIONS[key]
    policy.authorize(who, tr.policy, inst.project_id)
    actions.check(who, inst, tr)
    if host and host == inst.host:
        raise BadRequest(f"The target host {host} is the host the instance is running on.")
    return await actions_client.for_target(deps.cfg.endpoints.router).move(
        actions_pb2.MoveInstanceRequest(
            uuid=inst.uuid,
            migration_type=kind,
            host=host,
            expected_vm_states=tr.vm_states or [],
            request_id=request_id,
            # Nova's instance-action names.
            action="evacuate" if kind == "evacuation" else "live-migration",
            admin_pass=admin_pass,
        )
    )
