"""POST /servers/{id}/action for the actions beyond the power ones: resize, confirm, revert,
migrate, rescue, unrescue, changePassword, trigger_crash_dump, os-resetState,
injectNetworkInfo, os-getConsoleOutput."""

from __future__ import annotations

from typing import Any

from novamesh.cells.v1 import router_pb2
from novamesh.gateway.api import policy
from novamesh.gateway.api.errors import BadRequest, Conflict
from novamesh.gateway.clients import actions as actions_client
from novamesh.gateway.domain import (
    actions,
    image_cleanup,
    moves,
    quotas,
    rebuilds,
    server_groups,
    servers,
    snapshots,
)
from novamesh.gateway.domain.boot import generate_password
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest.call import Call, Reply
from novamesh.gateway.schemas import server_actions as schemas
from novamesh.gateway.schemas.types import to_bool
from novamesh.gateway.views import servers as view
from novamesh.gateway.views.common import ViewContext

NAMES = frozenset({*schemas.ACTIONS, "trigger_crash_dump", "rebuild", "os-migrateLive", "evacuate"})


def schema(name: str, call: Call) -> dict[str, Any] | None:
    return schemas.action(name, call.version)


async def run(deps: Deps, call: Call, inst: router_pb2.Instance, name: str, arg: Any) -> Reply:
    who, rid = call.who, call.request_id
    if name == "resize":
        await moves.resize(deps, who, rid, inst, str(arg["flavorRef"]))
        return Reply(None, 202)
    if name == "migrate":
        host = (arg or {}).get("host") if call.version.at_least("2.56") else None
        await moves.migrate(deps, who, rid, inst, host)
        return Reply(None, 202)
    if name == "os-migrateLive":
        await moves.live_migrate(deps, who, rid, inst, arg.get("host"))
        return Reply(None, 202)
    if name == "evacuate":
        if to_bool(arg.get("onSharedStorage", False)) and arg.get("adminPass"):
            raise BadRequest("admin password can't be changed on existing disk")
        password = arg.get("adminPass") or generate_password()
        await moves.evacuate(deps, who, rid, inst, arg.get("host"), password)
        if call.version.at_least("2.14"):
            return Reply(None, 200)
        return Reply({"adminPass": password}, 200)
    if name == "rescue":
        arg = arg or {}
        password = arg.get("adminPass") or generate_password()
        params = {"admin_pass": password}
        if arg.get("rescue_image_ref"):
            params["rescue_image_ref"] = arg["rescue_image_ref"]
        await actions.run(deps, who, rid, inst, "rescue", params)
        return Reply({"adminPass": password})
    if name == "changePassword":
        await actions.run(deps, who, rid, inst, "changePassword", {"admin_pass": arg["adminPass"]})
        return Reply(None, 202)
    if name == "os-resetState":
        await actions.run(deps, who, rid, inst, "resetState", {"state": arg["state"]})
        return Reply(None, 202)
    if name == "os-getConsoleOutput":
        return Reply({"output": await _console(deps, call, inst, arg)})
    if name in ("createImage", "createBackup"):
        backup = None
        if name == "createBackup":
            backup = snapshots.Backup(arg["name"], arg["backup_type"], int(arg["rotation"]))
        image_id = await snapshots.snapshot(
            deps, who, rid, inst, arg["name"], dict(arg.get("metadata") or {}), backup
        )
        if call.version.at_least("2.45"):
            return Reply({"image_id": image_id}, 202)
        location = f"{deps.cfg.endpoints.image_public_url}/images/{image_id}"
        return Reply(None, 202, [("location", location)])
    if name == "rebuild":
        return await _rebuild(deps, call, inst, arg)
    if name == "shelve":
        await snapshots.shelve(deps, who, rid, inst)
        return Reply(None, 202)
    if name == "unshelve":
        await actions.run(deps, who, rid, inst, "unshelve", _unshelve_params(call, inst, arg))
        shelved_image = inst.system_metadata.get("shelved_image_id")
        if shelved_image:
            await image_cleanup.after_unshelve(deps, inst.uuid, shelved_image, inst.project_id)
        return Reply(None, 202)
    if name == "injectNetworkInfo":
        policy.authorize(who, actions.INJECT_NETWORK_INFO, inst.project_id)
        if not inst.host:
            raise Conflict(f"Instance {inst.uuid} has no host to inject network info on.")
        # Guests here read their addresses from DHCP and the config drive, which always hold
        # the server's current ports: there is nothing to push into a running guest.
        return Reply(None, 202)
    if name == "restore":
        # Nova checks lock and state first, then whether the server fits in its quota again.
        tr = actions.TRANSITIONS["restore"]
        policy.authorize(who, tr.policy, inst.project_id)
        actions.check(who, inst, tr)
        await quotas.check_restore(deps, inst)
        await actions.run(deps, who, rid, inst, "restore", {})
        return Reply(None, 202)
    if name == "forceDelete":
        policy.authorize(who, "os_compute_api:os-deferred-delete:force", inst.project_id)
        await servers.delete(deps, who, rid, inst.uuid)
        return Reply(None, 202)
    await actions.run(deps, who, rid, inst, name, {})
    # Nova answers a confirm with 204 and the other actions with 202.
    return Reply(None, 204 if name == "confirmResize" else 202)


async def _rebuild(deps: Deps, call: Call, inst: router_pb2.Instance, arg: Any) -> Reply:
    password = arg.get("adminPass") or generate_password()
    changes: dict[str, str] = {}
    for key, field in (
        ("name", "name"),
        ("description", "description"),
        ("accessIPv4", "access_ip_v4"),
        ("accessIPv6", "access_ip_v6"),
        ("user_data", "user_data"),
        ("hostname", "hostname"),
    ):
        if key in arg:
            changes[field] = arg[key] or ""
    req = rebuilds.RebuildRequest(
        image_ref=str(arg["imageRef"]),
        admin_pass=password,
        preserve_ephemeral=to_bool(arg.get("preserve_ephemeral", False)),
        changes=changes,
        metadata=dict(arg["metadata"]) if "metadata" in arg else None,
        key_name=(arg["key_name"] or "") if "key_name" in arg else None,
    )
    updated = await rebuilds.rebuild(deps, call.who, call.request_id, inst, req)
    ctx = ViewContext(
        version=call.version,
        base_url=call.base_url,
        is_admin=policy.allowed(call.who, "os_compute_api:os-extended-server-attributes"),
        project_id=call.who.project_id,
    )
    # 2.71's server_groups from the membership rows (a deleted group is gone from them).
    groups = await server_groups.groups_of(deps, updated.uuid) if ctx.v("2.71") else None
    body = view.detail(
        ctx, updated, show=True, full=call.version.at_least("2.75"), server_groups=groups
    )
    body["adminPass"] = password
    # Nova adds what a rebuild may have changed: key_name from 2.54, user_data from 2.57 (at
    # 2.75 in place of the admin's OS-EXT-SRV-ATTR:user_data).
    if call.version.at_least("2.54"):
        body["key_name"] = updated.key_name or None
    if call.version.at_least("2.57"):
        body.pop("OS-EXT-SRV-ATTR:user_data", None)
        body["user_data"] = updated.user_data or None
    return Reply({"server": body}, 202)


def _unshelve_params(call: Call, inst: router_pb2.Instance, arg: Any) -> dict[str, str]:
    """2.77 availability_zone, 2.91 host (admins) and availability_zone null (unpin)."""
    if not isinstance(arg, dict):
        return {}
    params: dict[str, str] = {}
    if "host" in arg:
        policy.authorize(call.who, "os_compute_api:os-shelve:unshelve_to_host", inst.project_id)
        params["host"] = arg["host"]
    if "availability_zone" in arg:
        params["availability_zone"] = arg["availability_zone"] or ""
    if params and inst.vm_state != "shelved_offloaded":
        raise Conflict(
            "The availability_zone or host of an unshelve can be given only for a server "
            f"that is SHELVED_OFFLOADED; {inst.uuid} is not."
        )
    return params


async def delete(deps: Deps, call: Call) -> None:
    """DELETE /servers/{id}: soft (deferred) when reclaim_instance_interval is set, as Nova."""
    if deps.cfg.api.reclaim_instance_interval > 0:
        inst = await servers.get(deps, call.who, call.path_id)
        if inst.locked and not call.who.is_admin:
            raise Conflict(f"Instance {inst.uuid} is locked")
        tr = actions.TRANSITIONS["softDelete"]
        if inst.host and inst.vm_state in (tr.vm_states or []) and not inst.task_state:
            try:
                await actions.run(deps, call.who, call.request_id, inst, "softDelete")
                return
            except Conflict:
                pass  # it changed meanwhile: delete it for good, as Nova would now
    await servers.delete(deps, call.who, call.request_id, call.path_id)


async def _console(deps: Deps, call: Call, inst: router_pb2.Instance, arg: Any) -> str:
    policy.authorize(call.who, "os_compute_api:os-console-output", inst.project_id)
    raw = (arg or {}).get("length")
    length = 0
    if raw is not None:
        try:
            length = int(raw)
        except ValueError as exc:
            raise BadRequest(f"Invalid input for field/attribute length. Value: {raw}") from exc
        if length < -1:
            raise BadRequest(f"Invalid input for field/attribute length. Value: {raw}")
        length = max(length, 0)
    client = actions_client.for_target(deps.cfg.endpoints.router)
    return await client.console_output(inst.uuid, length)
