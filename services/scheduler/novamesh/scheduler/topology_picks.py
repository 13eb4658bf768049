"""What a pick takes of a host's NUMA cells and PCI pools, so the next pick (in the same request
or a concurrent one) sees it before the agent's report does.

The cells are those NUMATopologyFilter's packing chose; the devices come from the pools in the
host's order, the chosen cells' pools first, as the agent's PCI claim takes them.
"""

from __future__ import annotations

from novamesh.scheduler.filters.numa_topology import assign, instance_topology
from novamesh.scheduler.filters.pci_passthrough import requested
from novamesh.scheduler.host_state import CellTake, HostState, PoolTake
from novamesh.scheduler.spec import RequestSpec


def take(
    host: HostState, spec: RequestSpec, aliases: dict[str, list[tuple[str, str]]]
) -> tuple[tuple[CellTake, ...], tuple[PoolTake, ...]]:
    """(cells, devices) the instance takes on `host`; nothing for what it cannot read or fit
    (the filters refused those already, or are not enabled)."""
    try:
        cells = instance_topology(spec)
        wanted = requested(spec)
    except ValueError:
        return (), ()
    cell_takes: tuple[CellTake, ...] = ()
    if cells and host.numa_cells:
        dedicated = spec.flavor.extra_specs.get("hw:cpu_policy") == "dedicated"
        cpu_ratio = 1.0 if dedicated else host.cpu_allocation_ratio
        chosen = assign(cells, host.numa_cells, cpu_ratio, host.ram_allocation_ratio)
        if chosen is not None:
            cell_takes = tuple(
                CellTake(host.numa_cells[j].id, c.cpus, c.memory_mb)
                for c, j in zip(cells, chosen, strict=True)
            )
    local = {t.cell for t in cell_takes}
    pools = sorted(host.pci_pools, key=lambda p: p.numa_node not in local)
    free = {id(p): p.count for p in pools}
    pool_takes: list[PoolTake] = []
    for alias, count in wanted:
        devices = aliases.get(alias, [])
        for pool in pools:
            if count <= 0:
                break
            if (pool.vendor_id.lower(), pool.product_id.lower()) not in devices:
                continue
            n = min(count, free[id(pool)])
            if n > 0:
                free[id(pool)] -= n
                count -= n
                pool_takes.append(
                    PoolTake(pool.vendor_id.lower(), pool.product_id.lower(), pool.numa_node, n)
                )
    return cell_takes, tuple(pool_takes)
