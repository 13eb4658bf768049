"""ServerGroupAffinityFilter and ServerGroupAntiAffinityFilter (hard policies).

The group's hosts include the picks already made in this request. Anti-affinity counts the
group's members on the host, so the 2.64 rule max_server_per_host can allow more than one.
"""

from __future__ import annotations

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import InstanceGroup, RequestSpec


def members_on(host: HostState, group: InstanceGroup) -> int:
    on_host = len(host.instances & group.members) if group.members else 0
    # Members of this request placed earlier are in group.hosts but may not be members yet.
    return max(on_host, group.hosts.count(host.host))


class ServerGroupAffinityFilter(Filter):
    name = "ServerGroupAffinityFilter"

    def relevant(self, spec: RequestSpec) -> bool:
        group = spec.instance_group
        return group is not None and group.policy == "affinity"

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        assert spec.instance_group is not None
        hosts = spec.instance_group.hosts
        if not hosts or host.host in hosts:
            return None
        return "not the host of the affinity group"


class ServerGroupAntiAffinityFilter(Filter):
    name = "ServerGroupAntiAffinityFilter"

    def relevant(self, spec: RequestSpec) -> bool:
        group = spec.instance_group
        return group is not None and group.policy == "anti-affinity"

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        group = spec.instance_group
        assert group is not None
        limit = group.max_server_per_host()
        count = members_on(host, group)
        if count >= limit:
            return f"{count} members of the anti-affinity group already there (max {limit})"
        return None
