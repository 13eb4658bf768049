"""os-volume_attachments: a server's volumes, attached through its host.

The volume record moves available -> attaching -> in-use (back to available when the host
refuses), so one volume is never claimed by two attaches; detach moves in-use -> detaching ->
available. The attachment itself is the cell's block_device_mapping row the router writes.
Round trips: GetInstance, one record claim, the router's attach, one record update.
"""

from __future__ import annotations

from dataclasses import dataclass

from novamesh.cells.v1 import router_pb2
from novamesh.cells.v1 import server_devices_pb2 as sd
from novamesh.gateway.api import errors, policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.db import volumes as store
from novamesh.gateway.domain import servers, volumes
from novamesh.gateway.domain import states as s
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.domain.device_ports import Devices

_RULE = "os_compute_api:os-volumes-attachments"
for _op, _rule_check, _desc in [
    ("index", "rule:admin_or_owner", "List a server's volume attachments"),
    ("show", "rule:admin_or_owner", "Show a volume attachment"),
    ("create", "rule:admin_or_owner", "Attach a volume"),
    ("update", "rule:admin_or_owner", "Change a volume attachment's delete_on_termination"),
    ("swap", "rule:admin_api", "Swap the volume of an attachment"),
    ("delete", "rule:admin_or_owner", "Detach a volume"),
]:
    policy.register(f"{_RULE}:{_op}", _rule_check, _desc)

# Nova's check_instance_state lists (task_state must be None for each).
_ATTACH_STATES = (s.ACTIVE, s.PAUSED, s.STOPPED, s.RESIZED, s.SOFT_DELETED, s.SHELVED)
_DETACH_STATES = _ATTACH_STATES
_SWAP_STATES = (s.ACTIVE, s.PAUSED, s.RESIZED)


@dataclass(frozen=True)
class AttachRequest:
    volume_id: str
    device: str = ""
    tag: str = ""
    delete_on_termination: bool = False


async def _instance(deps: Deps, who: Identity, uuid: str, op: str) -> router_pb2.Instance:
    inst = await servers.get(deps, who, uuid)
    policy.authorize(who, f"{_RULE}:{op}", inst.project_id)
    return inst


def _check(who: Identity, inst: router_pb2.Instance, allowed: tuple[str, ...], action: str) -> None:
    if inst.locked and not who.is_admin:
        raise errors.Conflict(f"Instance {inst.uuid} is locked")
    if inst.vm_state not in allowed:
        raise errors.invalid_state(inst.uuid, "vm_state", inst.vm_state, action)
    if inst.task_state:
        raise errors.invalid_state(inst.uuid, "task_state", inst.task_state, action)


def _not_attached(volume_id: str, uuid: str) -> errors.NotFound:
    return errors.NotFound(f"Volume {volume_id} is not attached to the instance {uuid}")


async def list_attachments(
    deps: Deps, devices: Devices, who: Identity, uuid: str
) -> list[sd.VolumeAttachment]:
    await _instance(deps, who, uuid, "index")
    return await devices.list_volumes(uuid)


async def get_attachment(
    deps: Deps, devices: Devices, who: Identity, uuid: str, volume_id: str
) -> sd.VolumeAttachment:
    await _instance(deps, who, uuid, "show")
    for found in await devices.list_volumes(uuid):
        if found.volume_id == volume_id:
            return found
    raise _not_attached(volume_id, uuid)


async def _claim(deps: Deps, who: Identity, volume_id: str) -> int:
    """Mark the volume attaching; returns its size in GiB."""
    volume = await volumes.find(deps, who, volume_id)
    if volume.status != "available" or not await store.move(
        deps.sessions, volume_id, "available", status="attaching"
    ):
        raise errors.BadRequest(
            f"Invalid volume: volume '{volume_id}' status must be 'available'. "
            f"Currently in '{volume.status}'"
        )
    return volume.size


async def _release(deps: Deps, volume_id: str, expected: str) -> None:
    await store.move(
        deps.sessions,
        volume_id,
        expected,
        status="available",
        attached_server=None,
        attached_device=None,
        attachment_id=None,
    )


async def _in_use(deps: Deps, volume_id: str, att: sd.VolumeAttachment) -> None:
    await store.move(
        deps.sessions,
        volume_id,
        "attaching",
        status="in-use",
        attached_server=att.server_id,
        attached_device=att.device,
        attachment_id=att.attachment_id,
    )


async def attach(
    deps: Deps, devices: Devices, who: Identity, uuid: str, want: AttachRequest
) -> sd.VolumeAttachment:
    inst = await _instance(deps, who, uuid, "create")
    _check(who, inst, _ATTACH_STATES, "attach_volume")
    size_gb = await _claim(deps, who, want.volume_id)
    request = sd.AttachVolumeRequest(
        uuid=uuid,
        volume_id=want.volume_id,
        device=want.device,
        tag=want.tag,
        delete_on_termination=want.delete_on_termination,
        size_gb=size_gb,
    )
    try:
        att = await devices.attach_volume(request)
    except BaseException:
        await _release(deps, want.volume_id, "attaching")
        raise
    await _in_use(deps, want.volume_id, att)
    return att


async def update(
    deps: Deps,
    devices: Devices,
    who: Identity,
    uuid: str,
    volume_id: str,
    new_volume_id: str,
    delete_on_termination: bool | None,
) -> sd.VolumeAttachment:
    swap = new_volume_id != volume_id
    inst = await _instance(deps, who, uuid, "swap" if swap else "update")
    if swap:
        _check(who, inst, _SWAP_STATES, "swap_volume")
    current = await get_attachment(deps, devices, who, uuid, volume_id)
    request = sd.UpdateVolumeAttachmentRequest(uuid=uuid, volume_id=volume_id)
    if delete_on_termination is not None:
        request.delete_on_termination = delete_on_termination
    if not swap:
        return await devices.update_volume(request)
    await _claim(deps, who, new_volume_id)
    request.new_volume_id = new_volume_id
    try:
        att = await devices.update_volume(request)
    except BaseException:
        await _release(deps, new_volume_id, "attaching")
        raise
    await _in_use(deps, new_volume_id, att)
    await _release(deps, current.volume_id, "in-use")
    return att


async def detach(deps: Deps, devices: Devices, who: Identity, uuid: str, volume_id: str) -> None:
    inst = await _instance(deps, who, uuid, "delete")
    _check(who, inst, _DETACH_STATES, "detach_volume")
    if not any(a.volume_id == volume_id for a in await devices.list_volumes(uuid)):
        raise errors.NotFound("The volume was either invalid or not attached to the instance.")
    moved = await store.move(deps.sessions, volume_id, "in-use", status="detaching")
    try:
        await devices.detach_volume(sd.DetachVolumeRequest(uuid=uuid, volume_id=volume_id))
    except BaseException:
        if moved:
            await store.move(deps.sessions, volume_id, "detaching", status="in-use")
        raise
    await _release(deps, volume_id, "detaching" if moved else "in-use")
