"""RamFilter and AggregateRamFilter: enough RAM left under the allocation ratio.

Placement already refuses hosts without capacity; these also see picks not yet reported, and
the aggregate variant applies a per-aggregate `ram_allocation_ratio`.
"""

from __future__ import annotations

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.filters.aggregate_utils import min_value
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec


class RamFilter(Filter):
    name = "RamFilter"

    def ratio(self, host: HostState) -> float:
        return host.ram_allocation_ratio

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        wanted = spec.flavor.memory_mb
        total = host.total_usable_ram_mb
        usable = total * self.ratio(host) - (total - host.free_ram_mb)
        if usable >= wanted:
            return None
        return f"{usable:.0f} MB RAM usable, {wanted} MB requested"


class AggregateRamFilter(RamFilter):
    name = "AggregateRamFilter"

    def ratio(self, host: HostState) -> float:
        return min_value(host, "ram_allocation_ratio", host.ram_allocation_ratio)
