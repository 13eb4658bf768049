"""PciPassthroughFilter: the host has free PCI devices for every alias the flavor asks for
(`pci_passthrough:alias = "alias1:2,alias2:1"`; aliases map to vendor/product ids in the
`pci_alias` option as `name:vendor_id:product_id`)."""

from __future__ import annotations

from novamesh.common.config import SchedulerConfig
from novamesh.scheduler.filters import Filter
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec


def parse_aliases(entries: list[str]) -> dict[str, list[tuple[str, str]]]:
    aliases: dict[str, list[tuple[str, str]]] = {}
    for entry in entries:
        parts = [p.strip() for p in entry.split(":")]
        if len(parts) == 3 and all(parts):
            aliases.setdefault(parts[0], []).append((parts[1].lower(), parts[2].lower()))
    return aliases


def requested(spec: RequestSpec) -> list[tuple[str, int]]:
    raw = spec.flavor.extra_specs.get("pci_passthrough:alias", "")
    out = []
    for item in raw.split(","):
        name, _, count = item.strip().partition(":")
        if not name:
            continue
        try:
            out.append((name, int(count or "1")))
        except ValueError as exc:
            raise ValueError(f"invalid pci_passthrough:alias {raw!r}") from exc
    return out


class PciPassthroughFilter(Filter):
    name = "PciPassthroughFilter"

    def __init__(self, cfg: SchedulerConfig) -> None:
        super().__init__(cfg)
        self.aliases = parse_aliases(cfg.pci_alias)

    def relevant(self, spec: RequestSpec) -> bool:
        return bool(requested(spec))

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        free = {(p.vendor_id.lower(), p.product_id.lower()): 0 for p in host.pci_pools}
        for pool in host.pci_pools:
            free[(pool.vendor_id.lower(), pool.product_id.lower())] += pool.count
        for alias, count in requested(spec):
            devices = self.aliases.get(alias)
            if devices is None:
                raise ValueError(f"PCI alias {alias} is not defined")
            available = sum(free.get(d, 0) for d in devices)
            if available < count:
                return f"{available} free PCI devices for alias {alias}, {count} requested"
            # Take from the pools in order so two aliases cannot count the same device.
            for d in devices:
                take = min(count, free.get(d, 0))
                if take:
                    free[d] -= take
                    count -= take
        return None
