"""Guest networking on a libvirt network: the network itself (created isolated when missing)
and each port's MAC and address, derived from the port id so they are stable across rebuilds."""

from __future__ import annotations

import hashlib
import ipaddress
import uuid as uuidlib

import libvirt
from novamesh.agent.virt.model import NetworkInterface, RequestedNetwork

# Addresses are bookkeeping for the API (the isolated network runs no DHCP); one /16 per host.
_POOL = ipaddress.IPv4Network("10.254.0.0/16")
_PORT_NAMESPACE = uuidlib.UUID("6b0f9d5e-3c1a-4d7e-9a57-2f3e8c1b4a90")


def ensure_network(conn: libvirt.virConnect, name: str, bridge: str) -> None:
    """Start the named network, defining an isolated one (no forwarding, no IP) if needed."""
    try:
        net = conn.networkLookupByName(name)
    except libvirt.libvirtError:
        xml = f"<network><name>{name}</name><bridge name='{bridge}'/></network>"
        net = conn.networkDefineXML(xml)
    if not net.isActive():
        net.create()
    if not net.autostart():
        net.setAutostart(True)


def port_id_for(instance_uuid: str, index: int, requested: RequestedNetwork) -> str:
    if requested.port_id:
        return requested.port_id
    return str(uuidlib.uuid5(_PORT_NAMESPACE, f"{instance_uuid}/{index}"))


def mac_for(port_id: str) -> str:
    digest = hashlib.sha256(port_id.encode()).digest()
    # fa:16:3e is the prefix Neutron gives its ports.
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in digest[:3])


def address_for(port_id: str) -> str:
    digest = int.from_bytes(hashlib.sha256(port_id.encode()).digest()[:4], "big")
    host = 2 + digest % (_POOL.num_addresses - 3)
    return str(_POOL.network_address + host)


def interface_for(
    network: str, instance_uuid: str, index: int, requested: RequestedNetwork
) -> NetworkInterface:
    port_id = port_id_for(instance_uuid, index, requested)
    return NetworkInterface(
        network=network,
        address=requested.fixed_ip or address_for(port_id),
        mac_address=mac_for(port_id),
        port_id=port_id,
        tag=requested.tag,
    )
