"""IoOpsFilter and AggregateIoOpsFilter: hosts with `max_io_ops_per_host` I/O-heavy operations
(builds, resizes, snapshots...) in flight take no more for now."""

from __future__ import annotations

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.filters.aggregate_utils import min_value
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec


class IoOpsFilter(Filter):
    name = "IoOpsFilter"

    def limit(self, host: HostState) -> float:
        return self.cfg.max_io_ops_per_host

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        limit = self.limit(host)
        if host.num_io_ops < limit:
            return None
        return f"{host.num_io_ops} I/O operations in flight (max {limit:g})"


class AggregateIoOpsFilter(IoOpsFilter):
    name = "AggregateIoOpsFilter"

    def limit(self, host: HostState) -> float:
        return min_value(host, "max_io_ops_per_host", self.cfg.max_io_ops_per_host)
