"""MetricsFilter: hosts must report every metric named in `metrics_weight_setting`, so the
MetricsWeigher can weigh them all."""

from __future__ import annotations

from novamesh.common.config import SchedulerConfig
from novamesh.scheduler.filters import Filter
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec
from novamesh.scheduler.weighers.metrics import parse_setting


class MetricsFilter(Filter):
    name = "MetricsFilter"
    run_once_per_request = True

    def __init__(self, cfg: SchedulerConfig) -> None:
        super().__init__(cfg)
        self.names = {name for name, _ in parse_setting(cfg.metrics_weight_setting)}

    def relevant(self, spec: RequestSpec) -> bool:
        return bool(self.names)

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        missing = self.names - host.metrics.keys()
        if not missing:
            return None
        return f"no metrics {','.join(sorted(missing))}"
