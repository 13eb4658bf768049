"""A host's NUMA cells and PCI device pools: what NUMATopologyFilter and PciPassthroughFilter
schedule against.

Drivers that know their host's topology offer `host_topology(host)`; the agent adds usage. Guests
are not pinned to cells yet, so a cell's usage is the host's usage shared out in proportion to
the cell's size (a guest's memory and vCPUs count somewhere on the host; this keeps the cells'
free room honest in total), and every PCI device is free (nothing attaches devices yet).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class NumaCell:
    id: int
    cpus: tuple[int, ...]
    memory_mb: int
    # Hyper-thread siblings, one tuple per core.
    siblings: tuple[tuple[int, ...], ...] = ()
    cpu_usage: int = 0
    memory_usage: int = 0
    pinned_cpus: tuple[int, ...] = ()


@dataclass(frozen=True)
class PciPool:
    vendor_id: str
    product_id: str
    count: int
    numa_node: int | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HostTopology:
    cells: tuple[NumaCell, ...] = ()
    pci_pools: tuple[PciPool, ...] = ()


@runtime_checkable
class TopologyAware(Protocol):
    """Optional driver capability."""

    def host_topology(self, host: str) -> HostTopology: ...


def simulate(vcpus: int, memory_mb: int, numa_nodes: int, pci_devices: list[str]) -> HostTopology:
    """`numa_nodes` equal cells of two-thread cores, and PCI pools from `vendor:product:count`
    entries, their devices dealt round-robin over the cells."""
    nodes = max(1, min(numa_nodes, vcpus)) if vcpus else 0
    cells = []
    cpu = 0
    for i in range(nodes):
        count = vcpus // nodes + (i < vcpus % nodes)
        ids = tuple(range(cpu, cpu + count))
        cpu += count
        siblings = tuple(ids[j : j + 2] for j in range(0, len(ids), 2))
        memory = memory_mb // nodes + (i < memory_mb % nodes)
        cells.append(NumaCell(i, ids, memory, siblings))
    pools = []
    for entry in pci_devices:
        vendor, product, raw = [*entry.split(":"), "1"][:3]
        total = int(raw)
        if not nodes:
            pools.append(PciPool(vendor, product, total))
            continue
        for node in range(nodes):
            share = total // nodes + (node < total % nodes)
            if share:
                pools.append(PciPool(vendor, product, share, node))
    return HostTopology(tuple(cells), tuple(pools))


def with_usage(topo: HostTopology, vcpus_used: int, memory_used: int) -> HostTopology:
    """The topology with the host's guest usage shared out over its cells by size."""
    total_cpus = sum(len(c.cpus) for c in topo.cells)
    total_mem = sum(c.memory_mb for c in topo.cells)
    cells = tuple(
        NumaCell(
            c.id,
            c.cpus,
            c.memory_mb,
            c.siblings,
            cpu_usage=round(vcpus_used * len(c.cpus) / total_cpus) if total_cpus else 0,
            memory_usage=round(memory_used * c.memory_mb / total_mem) if total_mem else 0,
            pinned_cpus=c.pinned_cpus,
        )
        for c in topo.cells
    )
    return HostTopology(cells, topo.pci_pools)
