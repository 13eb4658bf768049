"""Rebuild as the API sees it: the image (visible and active), the fields each microversion
lets the request change, then the router's RebuildInstance."""

from __future__ import annotations

from dataclasses import dataclass, field

from novamesh.cells.v1 import actions_pb2, router_pb2
from novamesh.gateway.api import policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import BadRequest
from novamesh.gateway.clients import actions as actions_client
from novamesh.gateway.db import catalog
from novamesh.gateway.domain import actions, boot
from novamesh.gateway.domain.deps import Deps


@dataclass
class RebuildRequest:
    image_ref: str
    admin_pass: str
    preserve_ephemeral: bool = False
    # Instance fields to change (update_mask names) and their values.
    changes: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] | None = None
    # None: keep; "": remove (2.54 key_name null).
    key_name: str | None = None


async def rebuild(
    deps: Deps, who: Identity, request_id: str, inst: router_pb2.Instance, req: RebuildRequest
) -> router_pb2.Instance:
    tr = actions.TRANSITIONS["rebuild"]
    policy.authorize(who, tr.policy, inst.project_id)
    actions.check(who, inst, tr)
    image = await boot._image(deps, who, req.image_ref)
    flavor_root = inst.flavor.root_gb
    if image.min_disk and flavor_root and image.min_disk > flavor_root:
        raise BadRequest("Flavor's disk is too small for requested image.")
    if image.min_ram and image.min_ram > inst.flavor.memory_mb:
        raise BadRequest("Flavor's memory is too small for requested image.")
    changes = dict(req.changes)
    if req.key_name is not None:
        changes["key_name"] = req.key_name
        changes["key_data"] = ""
        if req.key_name:
            keypair = await catalog.get_keypair(deps.sessions, who.user_id, req.key_name)
            if keypair is None:
                raise BadRequest("Invalid key_name provided.")
            changes["key_data"] = keypair.public_key
    new = router_pb2.Instance()
    for name, value in changes.items():
        setattr(new, name, value)
    mask = sorted(changes)
    if req.metadata is not None:
        new.metadata.update(req.metadata)
        mask.append("metadata")
    return await actions_client.for_target(deps.cfg.endpoints.router).rebuild(
        actions_pb2.RebuildInstanceRequest(
            uuid=inst.uuid,
            image=boot.to_image_meta(image),
            instance=new,
            update_mask=mask,
            admin_pass=req.admin_pass,
            preserve_ephemeral=req.preserve_ephemeral,
            expected_vm_states=tr.vm_states or [],
            request_id=request_id,
        )
    )
