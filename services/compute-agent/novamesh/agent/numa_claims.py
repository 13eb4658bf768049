"""Which host NUMA cells (and, for dedicated CPUs, which host CPUs) each guest with a NUMA
topology holds, so a host reports its cells' real use and refuses a guest whose cells no longer
fit (retryable: the router reschedules it, the late check NUMATopologyFilter cannot make).

A guest has a NUMA topology when its flavor (or image) asks for one: `hw:numa_nodes` (with
optional `hw:numa_cpus.N` / `hw:numa_mem.N`), or dedicated CPUs (`hw:cpu_policy=dedicated`, one
cell). Other guests float over the whole host; their use is shared out over the cells by size.
"""

from __future__ import annotations

from collections.abc import Mapping

from novamesh.agent.host_topology import CellUse, HostTopology, NumaCell
from novamesh.agent.virt.model import InstanceSpec, InsufficientCapacity


def _cpu_count(spec: str) -> int:
    count = 0
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        count += (int(hi) - int(lo) + 1) if hi else 1
    return count


def requested(instance: InstanceSpec) -> tuple[list[tuple[int, int]], bool]:
    """([(vcpus, memory_mb)] per guest cell, dedicated); no cells for a floating guest."""
    extra: Mapping[str, str] = instance.flavor_extra_specs
    dedicated = extra.get("hw:cpu_policy") == "dedicated"
    raw = extra.get("hw:numa_nodes") or instance.image_properties.get("hw_numa_nodes")
    if not raw:
        return ([(instance.vcpus, instance.memory_mb)] if dedicated else []), dedicated
    n = max(1, int(raw))
    if "hw:numa_cpus.0" in extra:
        cells = [
            (_cpu_count(extra[f"hw:numa_cpus.{i}"]), int(extra[f"hw:numa_mem.{i}"]))
            for i in range(n)
        ]
    else:
        v, m = instance.vcpus, instance.memory_mb
        cells = [(v // n + (i < v % n), m // n + (i < m % n)) for i in range(n)]
    return cells, dedicated


class NumaClaims:
    def __init__(self, cpu_allocation_ratio: float, ram_allocation_ratio: float) -> None:
        self._cpu_ratio = cpu_allocation_ratio
        self._ram_ratio = ram_allocation_ratio
        self._held: dict[str, tuple[str, tuple[CellUse, ...]]] = {}

    def claim(self, host: str, topo: HostTopology, instance: InstanceSpec) -> None:
        try:
            cells, dedicated = requested(instance)
        except (KeyError, ValueError) as exc:
            raise InsufficientCapacity(f"Invalid NUMA topology request: {exc}") from exc
        if not cells or instance.uuid in self._held:
            return
        used = self.usage(host)
        taken: set[int] = set()
        placed: list[CellUse] = []
        for vcpus, memory in cells:
            for cell in topo.cells:
                if cell.id in taken:
                    continue
                fit = self._fit(cell, used.get(cell.id), vcpus, memory, dedicated)
                if fit is not None:
                    taken.add(cell.id)
                    placed.append(fit)
                    break
            else:
                raise InsufficientCapacity(
                    f"Insufficient compute resources on {host}: the instance's {len(cells)} "
                    f"NUMA cells do not fit the host's free NUMA cells."
                )
        self._held[instance.uuid] = (host, tuple(placed))

    def _fit(
        self, cell: NumaCell, use: CellUse | None, vcpus: int, memory: int, dedicated: bool
    ) -> CellUse | None:
        cpus_used = use.cpus if use else 0
        mem_used = use.memory_mb if use else 0
        pinned = set(use.pinned) if use else set()
        if cell.memory_mb * self._ram_ratio - mem_used < memory:
            return None
        if dedicated:
            free = [c for c in cell.cpus if c not in pinned][: max(0, len(cell.cpus) - cpus_used)]
            if len(free) < vcpus:
                return None
            return CellUse(cell.id, vcpus, memory, tuple(free[:vcpus]))
        # Pinned CPUs are nobody else's; the rest are shared within the ratio.
        shared = (len(cell.cpus) - len(pinned)) * self._cpu_ratio - (cpus_used - len(pinned))
        if shared < vcpus:
            return None
        return CellUse(cell.id, vcpus, memory)

    def held(self) -> dict[str, tuple[str, tuple[CellUse, ...]]]:
        """Every guest's cells, by instance uuid: (host, uses)."""
        return dict(self._held)

    def restore(self, uuid: str, host: str, uses: tuple[CellUse, ...]) -> None:
        """Hold again what a guest held before the agent restarted (its pinned CPUs too)."""
        self._held[uuid] = (host, uses)

    def cells_of(self, uuid: str) -> tuple[int, ...]:
        """The host cells a guest holds (none for a floating guest)."""
        held = self._held.get(uuid)
        return tuple(u.cell for u in held[1]) if held else ()

    def release(self, uuid: str) -> None:
        self._held.pop(uuid, None)

    def rekey(self, old: str, new: str) -> None:
        held = self._held.pop(old, None)
        if held is not None:
            self._held[new] = held

    def usage(self, host: str) -> dict[int, CellUse]:
        """Per cell of `host`: what the guests with a NUMA topology hold."""
        out: dict[int, CellUse] = {}
        for held_host, uses in self._held.values():
            if held_host != host:
                continue
            for u in uses:
                prev = out.get(u.cell, CellUse(u.cell, 0, 0))
                out[u.cell] = CellUse(
                    u.cell, prev.cpus + u.cpus, prev.memory_mb + u.memory_mb, prev.pinned + u.pinned
                )
        return out
