"""Which PCI devices each guest holds, so a host's pools report what is really free and a guest
whose devices are gone meanwhile is refused (retryable: the router reschedules it).

A guest asks through its flavor: `pci_passthrough:alias = "gpu:2,nic:1"`; an alias names one or
more vendor/product pairs (`[scheduler] pci_alias` entries `name:vendor_id:product_id`, the
same option PciPassthroughFilter reads). Devices are taken pool by pool in the host's order,
preferring the NUMA cells the guest's NUMA claim holds, as Nova's PCI manager does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from novamesh.agent.host_topology import PciPool
from novamesh.agent.virt.model import InstanceSpec, InsufficientCapacity

# A pool: (vendor_id, product_id, numa_node); vendor and product lower-cased.
PoolKey = tuple[str, str, int | None]


def pool_key(pool: PciPool) -> PoolKey:
    return (pool.vendor_id.lower(), pool.product_id.lower(), pool.numa_node)


def parse_aliases(entries: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    aliases: dict[str, list[tuple[str, str]]] = {}
    for entry in entries:
        parts = [p.strip() for p in entry.split(":")]
        if len(parts) == 3 and all(parts):
            aliases.setdefault(parts[0], []).append((parts[1].lower(), parts[2].lower()))
    return aliases


def requested(extra_specs: Mapping[str, str]) -> list[tuple[str, int]]:
    """[(alias, count)] of `pci_passthrough:alias`; ValueError when it cannot be read."""
    raw = extra_specs.get("pci_passthrough:alias", "")
    out = []
    for item in raw.split(","):
        name, _, count = item.strip().partition(":")
        if name:
            out.append((name, int(count or "1")))
    return out


class PciClaims:
    def __init__(self, aliases: Iterable[str] = ()) -> None:
        self._aliases = parse_aliases(aliases)
        self._held: dict[str, tuple[str, dict[PoolKey, int]]] = {}

    def claim(
        self,
        host: str,
        pools: Iterable[PciPool],
        instance: InstanceSpec,
        cells: Iterable[int] = (),
    ) -> None:
        try:
            wanted = requested(instance.flavor_extra_specs)
        except ValueError as exc:
            raise InsufficientCapacity(f"Invalid PCI request: {exc}", retryable=False) from exc
        if not wanted or instance.uuid in self._held:
            return
        local = set(cells)
        used = self.usage(host)
        # The guest's own cells first; the sort is stable, so the host's order otherwise.
        order = sorted(pools, key=lambda p: p.numa_node not in local)
        free = {pool_key(p): 0 for p in order}
        for p in order:
            free[pool_key(p)] += p.count
        for key, count in used.items():
            free[key] = free.get(key, 0) - count
        taken: dict[PoolKey, int] = {}
        for alias, count in wanted:
            devices = self._aliases.get(alias)
            if devices is None:
                raise InsufficientCapacity(f"PCI alias {alias} is not defined", retryable=False)
            for key in free:
                if (key[0], key[1]) not in devices or count == 0:
                    continue
                take = min(count, free[key])
                if take > 0:
                    free[key] -= take
                    taken[key] = taken.get(key, 0) + take
                    count -= take
            if count:
                raise InsufficientCapacity(
                    f"Insufficient compute resources on {host}: no {count} more free PCI "
                    f"devices for alias {alias}."
                )
        self._held[instance.uuid] = (host, taken)

    def held(self) -> dict[str, tuple[str, dict[PoolKey, int]]]:
        """Every guest's devices, by instance uuid: (host, count per pool)."""
        return {uuid: (host, dict(taken)) for uuid, (host, taken) in self._held.items()}

    def restore(self, uuid: str, host: str, taken: dict[PoolKey, int]) -> None:
        """Hold again the devices a guest held before the agent restarted."""
        self._held[uuid] = (host, dict(taken))

    def release(self, uuid: str) -> None:
        self._held.pop(uuid, None)

    def rekey(self, old: str, new: str) -> None:
        held = self._held.pop(old, None)
        if held is not None:
            self._held[new] = held

    def usage(self, host: str) -> dict[PoolKey, int]:
        """Per pool of `host`: how many of its devices guests hold."""
        out: dict[PoolKey, int] = {}
        for held_host, taken in self._held.values():
            if held_host == host:
                for key, count in taken.items():
                    out[key] = out.get(key, 0) + count
        return out
