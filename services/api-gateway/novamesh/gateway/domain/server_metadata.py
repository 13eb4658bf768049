"""A server's metadata (Nova's server-metadata API): read, merge, replace, per-item edits.

Reads are one GetInstance. Writes are GetInstance (ownership, lock and state checks, the
current items) then one UpdateInstance that stores the whole new set; two concurrent writers
can lose one another's items, as with Nova's instance.save of the metadata field.
"""

from __future__ import annotations

from collections.abc import Mapping

from novamesh.cells.v1 import router_pb2
from novamesh.gateway.api import errors, policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.domain import servers
from novamesh.gateway.domain import states as s
from novamesh.gateway.domain.deps import Deps

# Nova's default metadata_items quota; the quota engine will own this number.
MAX_METADATA_ITEMS = 128

# Nova: check_instance_state(vm_state=[ACTIVE, PAUSED, SUSPENDED, STOPPED], task_state=None).
_WRITABLE_VM_STATES = (s.ACTIVE, s.PAUSED, s.SUSPENDED, s.STOPPED)

_RULE = "os_compute_api:server-metadata"
for _op, _desc in [
    ("index", "List a server's metadata"),
    ("show", "Show a server metadata item"),
    ("create", "Add server metadata items"),
    ("update_all", "Replace a server's metadata"),
    ("update", "Set a server metadata item"),
    ("delete", "Delete a server metadata item"),
]:
    policy.register(f"{_RULE}:{_op}", "rule:admin_or_owner", _desc)


def item_not_found() -> errors.NotFound:
    return errors.NotFound("Metadata item was not found")


async def _instance(deps: Deps, who: Identity, uuid: str, op: str) -> router_pb2.Instance:
    inst = await servers.get(deps, who, uuid)
    policy.authorize(who, f"{_RULE}:{op}", inst.project_id)
    return inst


def _check_writable(who: Identity, inst: router_pb2.Instance, action: str) -> None:
    if inst.locked and not who.is_admin:
        raise errors.Conflict(f"Instance {inst.uuid} is locked")
    if inst.vm_state not in _WRITABLE_VM_STATES:
        raise errors.invalid_state(inst.uuid, "vm_state", inst.vm_state, action)
    if inst.task_state:
        raise errors.invalid_state(inst.uuid, "task_state", inst.task_state, action)


async def _store(deps: Deps, inst: router_pb2.Instance, items: Mapping[str, str]) -> dict[str, str]:
    if len(items) > MAX_METADATA_ITEMS:
        raise errors.Forbidden(f"Maximum number of metadata items exceeds {MAX_METADATA_ITEMS}")
    new = router_pb2.Instance(metadata=dict(items))
    updated = await deps.router.update_instance(
        router_pb2.UpdateInstanceRequest(uuid=inst.uuid, instance=new, update_mask=["metadata"])
    )
    return dict(updated.metadata)


async def list_items(deps: Deps, who: Identity, uuid: str) -> dict[str, str]:
    inst = await _instance(deps, who, uuid, "index")
    return dict(inst.metadata)


async def get_item(deps: Deps, who: Identity, uuid: str, key: str) -> str:
    inst = await _instance(deps, who, uuid, "show")
    if key not in inst.metadata:
        raise item_not_found()
    return inst.metadata[key]


async def merge(deps: Deps, who: Identity, uuid: str, items: Mapping[str, str]) -> dict[str, str]:
    inst = await _instance(deps, who, uuid, "create")
    _check_writable(who, inst, "update metadata")
    return await _store(deps, inst, {**inst.metadata, **items})


async def replace(deps: Deps, who: Identity, uuid: str, items: Mapping[str, str]) -> dict[str, str]:
    inst = await _instance(deps, who, uuid, "update_all")
    _check_writable(who, inst, "update metadata")
    return await _store(deps, inst, items)


async def set_item(deps: Deps, who: Identity, uuid: str, key: str, value: str) -> None:
    inst = await _instance(deps, who, uuid, "update")
    _check_writable(who, inst, "update metadata")
    await _store(deps, inst, {**inst.metadata, key: value})


async def delete_item(deps: Deps, who: Identity, uuid: str, key: str) -> None:
    inst = await _instance(deps, who, uuid, "delete")
    if key not in inst.metadata:
        raise item_not_found()
    _check_writable(who, inst, "delete metadata")
    await _store(deps, inst, {k: v for k, v in inst.metadata.items() if k != key})
