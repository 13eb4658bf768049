"""NUMATopologyFilter: an instance with a NUMA topology (flavor `hw:numa_nodes`, optionally
`hw:numa_cpus.N`/`hw:numa_mem.N`, or image `hw_numa_nodes`) fits only where each of its cells
packs onto a distinct host cell within that cell's CPU and RAM allocation ratios (dedicated CPUs
are never oversubscribed). Instances without a topology fit anywhere."""

from __future__ import annotations

from dataclasses import dataclass

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.host_state import HostState, NumaCell
from novamesh.scheduler.spec import RequestSpec


@dataclass(frozen=True, slots=True)
class InstanceCell:
    cpus: int
    memory_mb: int


def _cpu_count(spec_value: str) -> int:
    """'0-2,5' -> 4."""
    count = 0
    for part in spec_value.split(","):
        lo, _, hi = part.strip().partition("-")
        count += (int(hi) - int(lo) + 1) if hi else 1
    return count


def instance_topology(spec: RequestSpec) -> list[InstanceCell]:
    if "numa" in spec.scratch:
        cached: list[InstanceCell] = spec.scratch["numa"]
        return cached
    extra = spec.flavor.extra_specs
    raw = extra.get("hw:numa_nodes") or spec.image.properties.get("hw_numa_nodes")
    cells: list[InstanceCell] = []
    if raw:
        try:
            n = int(raw)
            if n < 1:
                raise ValueError(raw)
            vcpus, mem = spec.flavor.vcpus, spec.flavor.memory_mb
            if "hw:numa_cpus.0" in extra:
                cells = [
                    InstanceCell(
                        _cpu_count(extra[f"hw:numa_cpus.{i}"]), int(extra[f"hw:numa_mem.{i}"])
                    )
                    for i in range(n)
                ]
            else:
                cells = [
                    InstanceCell(vcpus // n + (i < vcpus % n), mem // n + (i < mem % n))
                    for i in range(n)
                ]
        except (KeyError, ValueError) as exc:
            raise ValueError(f"invalid NUMA topology request: {exc}") from exc
    elif extra.get("hw:cpu_policy") == "dedicated":
        cells = [InstanceCell(spec.flavor.vcpus, spec.flavor.memory_mb)]
    spec.scratch["numa"] = cells
    return cells


def _fits(cell: InstanceCell, host_cell: NumaCell, cpu_ratio: float, ram_ratio: float) -> bool:
    return (
        host_cell.cpus * cpu_ratio - host_cell.cpu_usage >= cell.cpus
        and host_cell.memory_mb * ram_ratio - host_cell.memory_usage >= cell.memory_mb
    )


def assign(
    cells: list[InstanceCell], host_cells: list[NumaCell], cpu_ratio: float, ram_ratio: float
) -> list[int] | None:
    """The host cell (index) each instance cell takes, or None when they cannot all fit (small
    sizes: plain backtracking)."""
    used: list[int] = []

    def place(i: int) -> bool:
        if i == len(cells):
            return True
        for j, hc in enumerate(host_cells):
            if j not in used and _fits(cells[i], hc, cpu_ratio, ram_ratio):
                used.append(j)
                if place(i + 1):
                    return True
                used.pop()
        return False

    return used if len(cells) <= len(host_cells) and place(0) else None


def pack(
    cells: list[InstanceCell], host_cells: list[NumaCell], cpu_ratio: float, ram_ratio: float
) -> bool:
    """Whether each instance cell can take its own host cell."""
    return assign(cells, host_cells, cpu_ratio, ram_ratio) is not None


class NUMATopologyFilter(Filter):
    name = "NUMATopologyFilter"

    def relevant(self, spec: RequestSpec) -> bool:
        return bool(instance_topology(spec))

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        cells = instance_topology(spec)
        if not host.numa_cells:
            return "host reports no NUMA topology"
        dedicated = spec.flavor.extra_specs.get("hw:cpu_policy") == "dedicated"
        cpu_ratio = 1.0 if dedicated else host.cpu_allocation_ratio
        if pack(cells, host.numa_cells, cpu_ratio, host.ram_allocation_ratio):
            return None
        return f"{len(cells)} instance NUMA cells do not fit {len(host.numa_cells)} host cells"
