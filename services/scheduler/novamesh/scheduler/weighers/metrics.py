"""MetricsWeigher: a weighted sum of host metrics (`metrics_weight_setting = name=ratio, ...`).

A host lacking a configured metric gets `metrics_weight_of_unavailable` when metrics are
required, else the missing metric counts as nothing.
"""

from __future__ import annotations

import logging

from novamesh.common.config import SchedulerConfig
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec
from novamesh.scheduler.weighers import Weigher

LOG = logging.getLogger(__name__)


def parse_setting(entries: list[str]) -> list[tuple[str, float]]:
    out = []
    for entry in entries:
        name, sep, ratio = entry.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError(entry)
            out.append((name.strip(), float(ratio)))
        except ValueError:
            LOG.warning("ignoring metrics_weight_setting entry %r (want name=ratio)", entry)
    return out


class MetricsWeigher(Weigher):
    name = "MetricsWeigher"
    option = "metrics_weight_multiplier"

    def __init__(self, cfg: SchedulerConfig) -> None:
        super().__init__(cfg)
        self.setting = parse_setting(cfg.metrics_weight_setting)

    def relevant(self, spec: RequestSpec) -> bool:
        return bool(self.setting)

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        total = 0.0
        for name, ratio in self.setting:
            value = host.metrics.get(name)
            if value is None:
                if self.cfg.metrics_required:
                    return self.cfg.metrics_weight_of_unavailable
                continue
            total += value * ratio
        return total
