"""AvailabilityZoneFilter: the host's zone (an aggregate's, else its own) is the requested one.

A request may name several zones separated by commas; any of them will do.
"""

from __future__ import annotations

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec


def host_zones(host: HostState) -> set[str]:
    zones = set(host.aggregate_values("availability_zone"))
    if not zones and host.availability_zone:
        zones.add(host.availability_zone)
    return zones


class AvailabilityZoneFilter(Filter):
    name = "AvailabilityZoneFilter"
    run_once_per_request = True

    def relevant(self, spec: RequestSpec) -> bool:
        return bool(spec.availability_zone)

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        wanted = {z.strip() for z in spec.availability_zone.split(",") if z.strip()}
        zones = host_zones(host)
        if zones & wanted:
            return None
        return f"in zone {','.join(sorted(zones)) or '-'}, not {spec.availability_zone}"
