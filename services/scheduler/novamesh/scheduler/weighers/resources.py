"""RAMWeigher, CPUWeigher and DiskWeigher: more free capacity weighs more (spreading).

A negative multiplier stacks instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec
from novamesh.scheduler.weighers import Weigher


class RAMWeigher(Weigher):
    name = "RAMWeigher"
    option = "ram_weight_multiplier"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return host.total_usable_ram_mb * host.ram_allocation_ratio - (
            host.total_usable_ram_mb - host.free_ram_mb
        )

    def weigh_all(self, hosts: Sequence[HostState], spec: RequestSpec) -> list[float]:
        return [h.total_usable_ram_mb * (h.ram_allocation_ratio - 1) + h.free_ram_mb for h in hosts]


class CPUWeigher(Weigher):
    name = "CPUWeigher"
    option = "cpu_weight_multiplier"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return host.free_vcpus

    def weigh_all(self, hosts: Sequence[HostState], spec: RequestSpec) -> list[float]:
        return [h.vcpus_total * h.cpu_allocation_ratio - h.vcpus_used for h in hosts]


class DiskWeigher(Weigher):
    name = "DiskWeigher"
    option = "disk_weight_multiplier"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        total_mb = host.total_usable_disk_gb * 1024
        return total_mb * host.disk_allocation_ratio - (total_mb - host.free_disk_mb)

    def weigh_all(self, hosts: Sequence[HostState], spec: RequestSpec) -> list[float]:
        return [
            h.total_usable_disk_gb * 1024 * (h.disk_allocation_ratio - 1) + h.free_disk_mb
            for h in hosts
        ]
