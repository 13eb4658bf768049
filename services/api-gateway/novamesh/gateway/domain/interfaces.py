"""Attached ports (Nova's os-interface): list and show from the instance's info cache, attach
and detach through the host.

Without Neutron a network is one of the configured networks (the deprecated os-networks proxy
lists them; a net_id is the id that proxy shows) and a port exists only while it is attached.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass

from novamesh.agent.v1 import agent_pb2
from novamesh.cells.v1 import router_pb2
from novamesh.cells.v1 import server_devices_pb2 as sd
from novamesh.gateway.api import errors, policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.domain import networks, servers
from novamesh.gateway.domain import states as s
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.domain.device_ports import Devices

_RULE = "os_compute_api:os-attach-interfaces"
for _op, _desc in [
    ("list", "List a server's ports"),
    ("show", "Show a server's port"),
    ("create", "Attach a port to a server"),
    ("delete", "Detach a port from a server"),
]:
    policy.register(f"{_RULE}:{_op}", "rule:admin_or_owner", _desc)

# Nova: check_instance_state(vm_state=[ACTIVE, PAUSED, STOPPED], task_state=[None]).
_ATTACHABLE = (s.ACTIVE, s.PAUSED, s.STOPPED)


@dataclass(frozen=True)
class AttachRequest:
    net_id: str = ""
    port_id: str = ""
    fixed_ip: str = ""
    tag: str = ""


def network_id(deps: Deps, label: str) -> str:
    for net in networks.configured(deps.cfg.network_proxy):
        if net.label == label:
            return net.id
    return str(uuidlib.uuid5(networks._NAMESPACE, label))


def _label(deps: Deps, net_id: str) -> str:
    for net in networks.configured(deps.cfg.network_proxy):
        if net_id in (net.id, net.label):
            return net.label
    raise errors.NotFound(f"Network {net_id} could not be found.")


def _not_attached(uuid: str, port_id: str) -> errors.NotFound:
    return errors.NotFound(f"Instance {uuid} does not have a port with id {port_id}")


async def _instance(deps: Deps, who: Identity, uuid: str, op: str) -> router_pb2.Instance:
    inst = await servers.get(deps, who, uuid)
    policy.authorize(who, f"{_RULE}:{op}", inst.project_id)
    return inst


def _check_changeable(who: Identity, inst: router_pb2.Instance, action: str) -> None:
    if inst.locked and not who.is_admin:
        raise errors.Conflict(f"Instance {inst.uuid} is locked")
    if inst.vm_state not in _ATTACHABLE:
        raise errors.invalid_state(inst.uuid, "vm_state", inst.vm_state, action)
    if inst.task_state:
        raise errors.invalid_state(inst.uuid, "task_state", inst.task_state, action)


async def list_ports(deps: Deps, who: Identity, uuid: str) -> list[agent_pb2.NetworkInterface]:
    inst = await _instance(deps, who, uuid, "list")
    return [v for v in inst.interfaces if v.port_id]


async def get_port(
    deps: Deps, who: Identity, uuid: str, port_id: str
) -> agent_pb2.NetworkInterface:
    inst = await _instance(deps, who, uuid, "show")
    for vif in inst.interfaces:
        if vif.port_id == port_id:
            return vif
    raise _not_attached(uuid, port_id)


async def attach(
    deps: Deps, devices: Devices, who: Identity, uuid: str, want: AttachRequest
) -> agent_pb2.NetworkInterface:
    inst = await _instance(deps, who, uuid, "create")
    _check_changeable(who, inst, "attach_interface")
    if want.port_id:
        # A port is created with its server here: an existing one is attached elsewhere.
        for vif in inst.interfaces:
            if vif.port_id == want.port_id:
                raise errors.Conflict(f"Port {want.port_id} is still in use.")
    label = _label(deps, want.net_id) if want.net_id else "private"
    request = sd.AttachInterfaceRequest(
        uuid=uuid,
        port_id=want.port_id,
        network_id=label,
        fixed_ip=want.fixed_ip,
        tag=want.tag,
    )
    try:
        return await devices.attach_interface(request)
    except errors.NotImplementedYet:
        raise errors.NotImplementedYet("Network driver does not support this function.") from None


async def detach(deps: Deps, devices: Devices, who: Identity, uuid: str, port_id: str) -> None:
    inst = await _instance(deps, who, uuid, "delete")
    _check_changeable(who, inst, "detach_interface")
    if not any(v.port_id == port_id for v in inst.interfaces):
        raise _not_attached(uuid, port_id)
    try:
        await devices.detach_interface(sd.DetachInterfaceRequest(uuid=uuid, port_id=port_id))
    except errors.NotImplementedYet:
        raise errors.NotImplementedYet("Network driver does not support this function.") from None
