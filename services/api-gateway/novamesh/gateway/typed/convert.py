"""cells.v1 instance records to the typed compute.v1 Server."""

from __future__ import annotations

from novamesh.cells.v1 import router_pb2
from novamesh.compute.v1 import servers_pb2
from novamesh.gateway.domain import states


def server(inst: router_pb2.Instance) -> servers_pb2.Server:
    out = servers_pb2.Server(
        id=inst.uuid,
        name=inst.name,
        status=states.status(inst.vm_state, inst.task_state, inst.deleted),
        vm_state=inst.vm_state,
        task_state=inst.task_state,
        power_state=inst.power_state,
        project_id=inst.project_id,
        user_id=inst.user_id,
        host=inst.host,
        hypervisor_hostname=inst.node,
        availability_zone=inst.availability_zone,
        flavor_id=inst.flavor.id,
        image_id=inst.image_ref,
        metadata=dict(inst.metadata),
        key_name=inst.key_name,
        description=inst.description,
        locked=inst.locked,
        tags=list(inst.tags),
        addresses=[
            servers_pb2.Address(
                network=vif.network,
                addr=vif.address,
                version=vif.version or 4,
                type="fixed",
                mac_addr=vif.mac_address,
            )
            for vif in inst.interfaces
            if vif.address
        ],
    )
    if inst.HasField("fault") and inst.fault.message:
        out.fault.code = inst.fault.code
        out.fault.message = inst.fault.message
        out.fault.details = inst.fault.details
        out.fault.created.CopyFrom(inst.fault.created_at)
    for name in ("created_at", "updated_at", "launched_at"):
        if inst.HasField(name):
            getattr(out, name).CopyFrom(getattr(inst, name))
    return out
