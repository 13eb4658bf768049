"""A host's NUMA cells and PCI device pools: what NUMATopologyFilter and PciPassthroughFilter
schedule against.

Drivers that know their host's topology offer `host_topology(host)`; the agent adds usage: what
guests with a NUMA topology hold (numa_claims.py), plus the floating guests' use shared out over
the cells by size; each PCI pool counts only its devices no guest holds (pci_claims.py).
"""

from __future__ import annotations

from collections.abc import Mapping
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
class CellUse:
    """What guests with a NUMA topology hold of one cell."""

    cell: int
    cpus: int
    memory_mb: int
    pinned: tuple[int, ...] = ()


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


def with_usage(
    topo: HostTopology,
    vcpus_used: int,
    memory_used: int,
    numa: Mapping[int, CellUse] | None = None,
    pci: Mapping[tuple[str, str, int | None], int] | None = None,
) -> HostTopology:
    """The topology with its use: what guests with a NUMA topology hold of each cell, plus the
    rest of the host's use (floating guests) shared out over the cells by size; the PCI pools
    with what guests hold (per vendor, product and cell) taken out of their free count."""
    numa = numa or {}
    total_cpus = sum(len(c.cpus) for c in topo.cells)
    total_mem = sum(c.memory_mb for c in topo.cells)
    float_cpus = max(0, vcpus_used - sum(u.cpus for u in numa.values()))
    float_mem = max(0, memory_used - sum(u.memory_mb for u in numa.values()))
    cells = []
    for c in topo.cells:
        held = numa.get(c.id, CellUse(c.id, 0, 0))
        cpu_share = round(float_cpus * len(c.cpus) / total_cpus) if total_cpus else 0
        mem_share = round(float_mem * c.memory_mb / total_mem) if total_mem else 0
        cells.append(
            NumaCell(
                c.id,
                c.cpus,
                c.memory_mb,
                c.siblings,
                cpu_usage=held.cpus + cpu_share,
                memory_usage=held.memory_mb + mem_share,
                pinned_cpus=tuple(sorted(held.pinned)),
            )
        )
    devices = dict(pci or {})
    pools = []
    for p in topo.pci_pools:
        key = (p.vendor_id.lower(), p.product_id.lower(), p.numa_node)
        taken = min(p.count, devices.get(key, 0))
        devices[key] = devices.get(key, 0) - taken
        pools.append(PciPool(p.vendor_id, p.product_id, p.count - taken, p.numa_node, p.tags))
    return HostTopology(tuple(cells), tuple(pools))
