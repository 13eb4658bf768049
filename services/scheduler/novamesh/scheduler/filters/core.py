"""CoreFilter and AggregateCoreFilter: enough vCPUs left under the allocation ratio, and never
more vCPUs than the host has physical CPUs."""

from __future__ import annotations

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.filters.aggregate_utils import min_value
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec


class CoreFilter(Filter):
    name = "CoreFilter"

    def ratio(self, host: HostState) -> float:
        return host.cpu_allocation_ratio

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        if not host.vcpus_total:
            # A host that reports no CPUs is not judged on them (Nova's fail-safe).
            return None
        wanted = spec.flavor.vcpus
        if wanted > host.vcpus_total:
            return f"{wanted} vCPUs requested, host has {host.vcpus_total} CPUs"
        free = host.vcpus_total * self.ratio(host) - host.vcpus_used
        if free >= wanted:
            return None
        return f"{free:g} vCPUs free, {wanted} requested"


class AggregateCoreFilter(CoreFilter):
    name = "AggregateCoreFilter"

    def ratio(self, host: HostState) -> float:
        return min_value(host, "cpu_allocation_ratio", host.cpu_allocation_ratio)
