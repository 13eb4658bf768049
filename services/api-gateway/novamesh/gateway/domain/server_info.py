"""Read-mostly facts about one server: its addresses, its encrypted password, its topology.

Each is one GetInstance (plus one UpdateInstance to clear the password).
"""

from __future__ import annotations

from typing import Any

from novamesh.cells.v1 import router_pb2
from novamesh.gateway.api import errors, policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.domain import servers
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.domain.topology import guest_topology
from novamesh.gateway.views.servers import addresses

# Nova keeps the guest's encrypted password in four system_metadata chunks of 255 characters.
PASSWORD_KEYS = tuple(f"password_{i}" for i in range(4))

for _name, _check, _desc in [
    ("os_compute_api:ips:index", "rule:admin_or_owner", "List a server's addresses"),
    ("os_compute_api:ips:show", "rule:admin_or_owner", "Show a server's addresses on a network"),
    ("os_compute_api:os-server-password:show", "rule:admin_or_owner", "Show server password"),
    ("os_compute_api:os-server-password:clear", "rule:admin_or_owner", "Clear server password"),
    ("os_compute_api:servers:topology:index", "rule:admin_or_owner", "Show server topology"),
    ("os_compute_api:servers:topology:host:index", "rule:admin_api", "Topology host details"),
]:
    policy.register(_name, _check, _desc)


async def _instance(deps: Deps, who: Identity, uuid: str, rule: str) -> router_pb2.Instance:
    inst = await servers.get(deps, who, uuid)
    policy.authorize(who, rule, inst.project_id)
    return inst


async def ips(deps: Deps, who: Identity, uuid: str) -> dict[str, list[Any]]:
    inst = await _instance(deps, who, uuid, "os_compute_api:ips:index")
    return addresses(inst, extended=False)


async def ips_on(deps: Deps, who: Identity, uuid: str, network: str) -> list[Any]:
    inst = await _instance(deps, who, uuid, "os_compute_api:ips:show")
    found = addresses(inst, extended=False)
    if network not in found:
        raise errors.NotFound("Instance is not a member of specified network")
    return found[network]


async def password(deps: Deps, who: Identity, uuid: str) -> str:
    inst = await _instance(deps, who, uuid, "os_compute_api:os-server-password:show")
    return "".join(inst.system_metadata.get(k, "") for k in PASSWORD_KEYS)


async def clear_password(deps: Deps, who: Identity, uuid: str) -> None:
    inst = await _instance(deps, who, uuid, "os_compute_api:os-server-password:clear")
    # An empty value removes the key (the router merges system_metadata key by key).
    new = router_pb2.Instance(system_metadata={k: "" for k in PASSWORD_KEYS})
    await deps.router.update_instance(
        router_pb2.UpdateInstanceRequest(
            uuid=inst.uuid, instance=new, update_mask=["system_metadata"]
        )
    )


async def topology(deps: Deps, who: Identity, uuid: str) -> dict[str, Any]:
    inst = await _instance(deps, who, uuid, "os_compute_api:servers:topology:index")
    host_info = policy.allowed(who, "os_compute_api:servers:topology:host:index", inst.project_id)
    flavor = inst.flavor
    topo = guest_topology(flavor.vcpus, flavor.memory_mb, dict(flavor.extra_specs))
    if topo is None:
        return {"nodes": [], "pagesize_kb": None}
    nodes: list[dict[str, Any]] = []
    for node in topo.nodes:
        item: dict[str, Any] = {
            "vcpu_set": node.vcpus,
            "siblings": node.siblings,
            "memory_mb": node.memory_mb,
        }
        if host_info:
            # Which host cores a pinned guest got is the host's claim, which agents do not
            # report yet; the guest node's own number stands in for its host node.
            item["host_node"] = node.id
            item["cpu_pinning"] = {}
        nodes.append(item)
    return {"nodes": nodes, "pagesize_kb": topo.pagesize_kb}
