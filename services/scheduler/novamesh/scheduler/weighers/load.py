"""IoOpsWeigher, NumInstancesWeigher and BuildFailureWeigher: how busy or flaky a host is.

I/O ops weigh with a negative multiplier by default (lightly loaded hosts win); the instance
count has a zero multiplier by default (positive packs, negative spreads); recent build failures
push a host to the back so one broken host does not swallow every boot.
"""

from __future__ import annotations

from collections.abc import Sequence

from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec
from novamesh.scheduler.weighers import Weigher


class IoOpsWeigher(Weigher):
    name = "IoOpsWeigher"
    option = "io_ops_weight_multiplier"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return host.num_io_ops

    def weigh_all(self, hosts: Sequence[HostState], spec: RequestSpec) -> list[float]:
        return [h.num_io_ops for h in hosts]


class NumInstancesWeigher(Weigher):
    name = "NumInstancesWeigher"
    option = "num_instances_weight_multiplier"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return host.num_instances


class BuildFailureWeigher(Weigher):
    name = "BuildFailureWeigher"
    option = "build_failure_weight_multiplier"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return -host.failed_builds

    def weigh_all(self, hosts: Sequence[HostState], spec: RequestSpec) -> list[float]:
        return [-h.failed_builds for h in hosts]
