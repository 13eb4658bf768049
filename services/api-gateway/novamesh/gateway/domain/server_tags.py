"""A server's tags (Nova's os-server-tags API, 2.26): list, check, add, replace, delete.

Writes are GetInstance (ownership, state) then one UpdateInstance with the whole new list, the
same read-then-store as metadata.
"""

from __future__ import annotations

from collections.abc import Sequence

import jsonschema
from novamesh.cells.v1 import router_pb2
from novamesh.gateway.api import errors, policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.domain import servers
from novamesh.gateway.domain import states as s
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.schemas import types

# Nova's objects.instance.MAX_TAG_COUNT.
MAX_TAGS = 50

# Nova's server_tags._check_instance_in_valid_state: tags may change in these vm_states only.
_WRITABLE_VM_STATES = (s.ACTIVE, s.PAUSED, s.SUSPENDED, s.STOPPED, s.SHELVED, s.SHELVED_OFFLOADED)

_RULE = "os_compute_api:os-server-tags"
for _op, _desc in [
    ("index", "List a server's tags"),
    ("show", "Check a server tag"),
    ("update", "Add a server tag"),
    ("update_all", "Replace a server's tags"),
    ("delete", "Delete a server tag"),
    ("delete_all", "Delete all of a server's tags"),
]:
    policy.register(f"{_RULE}:{_op}", "rule:admin_or_owner", _desc)


async def _instance(deps: Deps, who: Identity, uuid: str, op: str) -> router_pb2.Instance:
    inst = await servers.get(deps, who, uuid)
    policy.authorize(who, f"{_RULE}:{op}", inst.project_id)
    return inst


def _check_writable(inst: router_pb2.Instance, action: str) -> None:
    if inst.vm_state not in _WRITABLE_VM_STATES:
        raise errors.invalid_state(inst.uuid, "vm_state", inst.vm_state, action)


def _valid(tag: object) -> bool:
    return jsonschema.Draft4Validator(types.tag).is_valid(tag)


def check_tag(tag: str) -> None:
    """A tag from the path, validated as the body schema validates list items."""
    try:
        jsonschema.validate(tag, types.tag)
    except jsonschema.ValidationError as exc:
        raise errors.BadRequest(
            f"Tag '{tag}' is invalid. It must be a non-empty string without characters '/' "
            f"and ','. Validation error message: {exc.message}"
        ) from None


async def _store(deps: Deps, inst: router_pb2.Instance, tags: Sequence[str]) -> list[str]:
    new = router_pb2.Instance(tags=list(dict.fromkeys(tags)))
    updated = await deps.router.update_instance(
        router_pb2.UpdateInstanceRequest(uuid=inst.uuid, instance=new, update_mask=["tags"])
    )
    return list(updated.tags)


async def list_tags(deps: Deps, who: Identity, uuid: str) -> list[str]:
    inst = await _instance(deps, who, uuid, "index")
    return list(inst.tags)


async def has_tag(deps: Deps, who: Identity, uuid: str, tag: str) -> None:
    inst = await _instance(deps, who, uuid, "show")
    if tag not in inst.tags:
        raise errors.NotFound(f"Server {uuid} has no tag '{tag}'")


async def add(deps: Deps, who: Identity, uuid: str, tag: str) -> bool:
    """Add one tag; False when the server already had it."""
    inst = await _instance(deps, who, uuid, "update")
    _check_writable(inst, "update tag")
    check_tag(tag)
    # Nova counts before it looks: a full server refuses even a tag it already has.
    if len(inst.tags) >= MAX_TAGS:
        raise errors.BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
    if tag in inst.tags:
        return False
    await _store(deps, inst, [*inst.tags, tag])
    return True


async def replace(deps: Deps, who: Identity, uuid: str, tags: Sequence[str]) -> list[str]:
    inst = await _instance(deps, who, uuid, "update_all")
    _check_writable(inst, "update tags")
    invalid = [t for t in tags if not _valid(t)]
    if invalid:
        raise errors.BadRequest(
            f"Tags '{invalid}' are invalid. Each tag must be a non-empty string without "
            "characters '/' and ','."
        )
    if len(tags) > MAX_TAGS:
        raise errors.BadRequest(
            f"The number of tags exceeded the per-server limit {MAX_TAGS}. The number of tags "
            f"in request is {len(tags)}."
        )
    return await _store(deps, inst, tags)


async def delete(deps: Deps, who: Identity, uuid: str, tag: str) -> None:
    inst = await _instance(deps, who, uuid, "delete")
    _check_writable(inst, "delete tag")
    if tag not in inst.tags:
        raise errors.NotFound(f"Tag {tag} does not exist for instance {uuid}")
    await _store(deps, inst, [t for t in inst.tags if t != tag])


async def delete_all(deps: Deps, who: Identity, uuid: str) -> None:
    inst = await _instance(deps, who, uuid, "delete_all")
    _check_writable(inst, "delete tags")
    await _store(deps, inst, [])
