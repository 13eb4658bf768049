"""Host weighers: each returns a raw number per host; the framework normalises every weigher's
values to 0..1 over the hosts being weighed and adds them up, each times its multiplier.

A multiplier comes from the configuration option named by the weigher (`ram_weight_multiplier`)
unless an aggregate of the host sets metadata of that name (the smallest such value wins).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar

from novamesh.common.config import SchedulerConfig
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec

LOG = logging.getLogger(__name__)


class Weigher:
    name: ClassVar[str]
    # The configuration option (and aggregate metadata key) holding the multiplier.
    option: ClassVar[str]
    # Fixed bounds for normalisation; None means the smallest/largest value seen.
    minval: ClassVar[float | None] = None
    maxval: ClassVar[float | None] = None

    def __init__(self, cfg: SchedulerConfig) -> None:
        self.cfg = cfg
        self.default_multiplier = float(getattr(cfg, self.option))

    def relevant(self, spec: RequestSpec) -> bool:
        """False when this weigher would give every host the same weight for this request."""
        return True

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        raise NotImplementedError

    def weigh_all(self, hosts: Sequence[HostState], spec: RequestSpec) -> list[float]:
        """Raw values for many hosts; weighers on the hot path override it with a loop that
        makes no call per host."""
        weigh = self.weigh
        return [weigh(h, spec) for h in hosts]

    def multiplier(self, host: HostState) -> float:
        if not host.aggregates:
            return self.default_multiplier
        values = []
        for raw in host.aggregate_values(self.option):
            try:
                values.append(float(raw))
            except ValueError:
                LOG.warning("aggregate metadata %s=%r is not a number", self.option, raw)
        return min(values) if values else self.default_multiplier


def weigh_hosts(
    weighers: Sequence[Weigher], hosts: Sequence[HostState], spec: RequestSpec
) -> list[tuple[float, HostState]]:
    """Hosts with their total weights, best first."""
    totals = [0.0] * len(hosts)
    for weigher in weighers:
        if not weigher.relevant(spec):
            continue
        raws = weigher.weigh_all(hosts, spec)
        if not raws:
            break
        lo = weigher.minval if weigher.minval is not None else min(raws)
        hi = weigher.maxval if weigher.maxval is not None else max(raws)
        span = hi - lo
        if span == 0:
            continue
        default = weigher.default_multiplier
        scale = default / span
        for i, (host, raw) in enumerate(zip(hosts, raws, strict=True)):
            if host.aggregates:
                totals[i] += weigher.multiplier(host) * (raw - lo) / span
            else:
                totals[i] += scale * (raw - lo)
    ranked = list(zip(totals, hosts, strict=True))
    ranked.sort(key=lambda pair: pair[0], reverse=True)
    return ranked
