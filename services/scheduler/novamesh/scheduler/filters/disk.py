"""DiskFilter and AggregateDiskFilter: enough local disk (root + ephemeral + swap) left under
the allocation ratio. Boot-from-volume requests do not need root disk here."""

from __future__ import annotations

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.filters.aggregate_utils import min_value
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec


class DiskFilter(Filter):
    name = "DiskFilter"

    def ratio(self, host: HostState) -> float:
        return host.disk_allocation_ratio

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        wanted = spec.requested_disk_mb()
        total = host.total_usable_disk_gb * 1024
        usable = total * self.ratio(host) - (total - host.free_disk_mb)
        if usable >= wanted:
            return None
        return f"{usable:.0f} MB disk usable, {wanted} MB requested"


class AggregateDiskFilter(DiskFilter):
    name = "AggregateDiskFilter"

    def ratio(self, host: HostState) -> float:
        return min_value(host, "disk_allocation_ratio", host.disk_allocation_ratio)
