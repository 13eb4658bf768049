"""NumInstancesFilter and AggregateNumInstancesFilter: hosts already running
`max_instances_per_host` instances (per aggregate for the variant) take no more."""

from __future__ import annotations

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.filters.aggregate_utils import min_value
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec


class NumInstancesFilter(Filter):
    name = "NumInstancesFilter"

    def limit(self, host: HostState) -> float:
        return self.cfg.max_instances_per_host

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        limit = self.limit(host)
        if host.num_instances < limit:
            return None
        return f"{host.num_instances} instances (max {limit:g})"


class AggregateNumInstancesFilter(NumInstancesFilter):
    name = "AggregateNumInstancesFilter"

    def limit(self, host: HostState) -> float:
        return min_value(host, "max_instances_per_host", self.cfg.max_instances_per_host)
