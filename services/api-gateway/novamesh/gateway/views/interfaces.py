"""An attached port as Nova's os-interface shows it."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from novamesh.agent.v1 import agent_pb2

# Subnets are not modelled: each network has one, with an id derived from the network's.
_SUBNETS = uuidlib.UUID("0b8c54ab-4a41-4d1e-a1e5-5d3f8a0c7e21")


def interface(vif: agent_pb2.NetworkInterface, net_id: str, with_tag: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "fixed_ips": [
            {"ip_address": vif.address, "subnet_id": str(uuidlib.uuid5(_SUBNETS, net_id))}
        ]
        if vif.address
        else [],
        "mac_addr": vif.mac_address,
        "net_id": net_id,
        "port_id": vif.port_id,
        "port_state": "ACTIVE",
    }
    if with_tag:
        out["tag"] = vif.tag or None
    return out
