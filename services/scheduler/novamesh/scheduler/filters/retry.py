"""RetryFilter: a reschedule never goes back to a host that already failed this instance.

Alternates usually make this redundant; it still guards reschedules that ask the scheduler
again (or a router that does not use alternates)."""

from __future__ import annotations

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec


class RetryFilter(Filter):
    name = "RetryFilter"
    run_once_per_request = True

    def relevant(self, spec: RequestSpec) -> bool:
        return bool(spec.retry_hosts)

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        if (host.host, host.nodename) in spec.retry_hosts:
            return "already tried for this instance"
        return None
