"""ServerGroupSoftAffinityWeigher and ServerGroupSoftAntiAffinityWeigher: the soft policies
prefer (or avoid) hosts that already run members of the group, but never exclude a host."""

from __future__ import annotations

from novamesh.scheduler.filters.server_group import members_on
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec
from novamesh.scheduler.weighers import Weigher


def _policy(spec: RequestSpec) -> str:
    return spec.instance_group.policy if spec.instance_group is not None else ""


class ServerGroupSoftAffinityWeigher(Weigher):
    name = "ServerGroupSoftAffinityWeigher"
    option = "soft_affinity_weight_multiplier"

    def relevant(self, spec: RequestSpec) -> bool:
        return _policy(spec) == "soft-affinity"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        assert spec.instance_group is not None
        return members_on(host, spec.instance_group)


class ServerGroupSoftAntiAffinityWeigher(Weigher):
    name = "ServerGroupSoftAntiAffinityWeigher"
    option = "soft_anti_affinity_weight_multiplier"

    def relevant(self, spec: RequestSpec) -> bool:
        return _policy(spec) == "soft-anti-affinity"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        assert spec.instance_group is not None
        return -members_on(host, spec.instance_group)
