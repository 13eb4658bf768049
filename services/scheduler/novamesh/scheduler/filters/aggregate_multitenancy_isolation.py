"""AggregateMultiTenancyIsolation: a host in an aggregate with `filter_tenant_id*` metadata
takes instances of those projects only (other hosts take anyone)."""

from __future__ import annotations

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec


class AggregateMultiTenancyIsolation(Filter):
    name = "AggregateMultiTenancyIsolation"
    run_once_per_request = True

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        allowed: set[str] = set()
        for agg in host.aggregates:
            for key, raw in agg.metadata.items():
                if key.startswith("filter_tenant_id"):
                    allowed.update(v.strip() for v in raw.split(","))
        if not allowed or spec.project_id in allowed:
            return None
        return f"isolated to projects {','.join(sorted(allowed))}"
