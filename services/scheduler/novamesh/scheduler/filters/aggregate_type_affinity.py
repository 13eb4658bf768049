"""AggregateTypeAffinityFilter: an aggregate with `instance_type` metadata (one flavor name or a
comma list) takes only those flavors."""

from __future__ import annotations

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec


class AggregateTypeAffinityFilter(Filter):
    name = "AggregateTypeAffinityFilter"
    run_once_per_request = True

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        values = host.aggregate_values("instance_type")
        if not values:
            return None
        for raw in values:
            if spec.flavor.name in (v.strip() for v in raw.split(",")):
                return None
        return f"aggregate takes flavors {';'.join(values)} only"
