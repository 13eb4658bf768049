"""AllHostsFilter: passes every host (a placeholder that makes 'no filtering' explicit)."""

from __future__ import annotations

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec


class AllHostsFilter(Filter):
    name = "AllHostsFilter"
    run_once_per_request = True

    def relevant(self, spec: RequestSpec) -> bool:
        return False

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        return None
