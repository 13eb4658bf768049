"""The deprecated network proxies' views: Nova with Neutron fills only id and label."""

from __future__ import annotations

from typing import Any

from novamesh.gateway.domain.networks import Network

# nova-network's fields that Nova's Neutron proxy always renders as null.
_NULL_FIELDS = (
    "bridge",
    "bridge_interface",
    "broadcast",
    "cidr",
    "cidr_v6",
    "created_at",
    "deleted",
    "deleted_at",
    "dhcp_start",
    "dns1",
    "dns2",
    "gateway",
    "gateway_v6",
    "host",
    "injected",
    "multi_host",
    "netmask",
    "netmask_v6",
    "priority",
    "project_id",
    "rxtx_base",
    "updated_at",
    "vlan",
    "vpn_private_address",
    "vpn_public_address",
    "vpn_public_port",
    "mtu",
    "dhcp_server",
    "enable_dhcp",
    "share_address",
)


def network(net: Network) -> dict[str, Any]:
    view: dict[str, Any] = dict.fromkeys(_NULL_FIELDS)
    view.update(id=net.id, label=net.label)
    return view


def tenant_network(net: Network) -> dict[str, Any]:
    # Nova's tenant-networks proxy prints the missing CIDR with str().
    return {"cidr": "None", "id": net.id, "label": net.label}
