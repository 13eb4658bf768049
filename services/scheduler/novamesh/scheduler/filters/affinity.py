"""DifferentHostFilter, SameHostFilter and SimpleCIDRAffinityFilter: placement relative to
other instances or an IP block, from the scheduler hints `different_host`, `same_host`,
`build_near_host_ip` and `cidr`."""

from __future__ import annotations

import ipaddress

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec


class DifferentHostFilter(Filter):
    name = "DifferentHostFilter"

    def relevant(self, spec: RequestSpec) -> bool:
        return bool(spec.hint("different_host"))

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        if host.instances.isdisjoint(spec.hint("different_host")):
            return None
        return "runs an instance named in different_host"


class SameHostFilter(Filter):
    name = "SameHostFilter"

    def relevant(self, spec: RequestSpec) -> bool:
        return bool(spec.hint("same_host"))

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        if not host.instances.isdisjoint(spec.hint("same_host")):
            return None
        return "runs none of the instances named in same_host"


class SimpleCIDRAffinityFilter(Filter):
    name = "SimpleCIDRAffinityFilter"
    run_once_per_request = True

    def relevant(self, spec: RequestSpec) -> bool:
        return bool(spec.hint("build_near_host_ip"))

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        near = spec.hint("build_near_host_ip")[0]
        cidr = (spec.hint("cidr") or ["/24"])[0]
        try:
            network = ipaddress.ip_network(f"{near}{cidr}", strict=False)
        except ValueError as exc:
            raise ValueError(f"invalid build_near_host_ip/cidr hint: {exc}") from exc
        try:
            if ipaddress.ip_address(host.host_ip) in network:
                return None
        except ValueError:
            pass
        return f"host IP {host.host_ip or '-'} is outside {network}"
