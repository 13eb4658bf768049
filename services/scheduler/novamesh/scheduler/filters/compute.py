"""ComputeFilter: only hosts whose compute service is enabled and up."""

from __future__ import annotations

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec


class ComputeFilter(Filter):
    name = "ComputeFilter"
    run_once_per_request = True

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        if host.service_disabled:
            return "compute service is disabled"
        if not host.service_up:
            return "compute service is down"
        return None
