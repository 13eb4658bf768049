"""Every filter and weigher by name. Adding a plugin means adding it here: nothing is discovered."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from novamesh.common.config import SchedulerConfig
from novamesh.scheduler.filters import Filter
from novamesh.scheduler.filters.affinity import (
    DifferentHostFilter,
    SameHostFilter,
    SimpleCIDRAffinityFilter,
)
from novamesh.scheduler.filters.aggregate_image_properties_isolation import (
    AggregateImagePropertiesIsolation,
)
from novamesh.scheduler.filters.aggregate_instance_extra_specs import (
    AggregateInstanceExtraSpecsFilter,
)
from novamesh.scheduler.filters.aggregate_multitenancy_isolation import (
    AggregateMultiTenancyIsolation,
)
from novamesh.scheduler.filters.aggregate_type_affinity import AggregateTypeAffinityFilter
from novamesh.scheduler.filters.all_hosts import AllHostsFilter
from novamesh.scheduler.filters.availability_zone import AvailabilityZoneFilter
from novamesh.scheduler.filters.compute import ComputeFilter
from novamesh.scheduler.filters.compute_capabilities import ComputeCapabilitiesFilter
from novamesh.scheduler.filters.core import AggregateCoreFilter, CoreFilter
from novamesh.scheduler.filters.disk import AggregateDiskFilter, DiskFilter
from novamesh.scheduler.filters.image_properties import ImagePropertiesFilter
from novamesh.scheduler.filters.io_ops import AggregateIoOpsFilter, IoOpsFilter
from novamesh.scheduler.filters.isolated_hosts import IsolatedHostsFilter
from novamesh.scheduler.filters.json_filter import JsonFilter
from novamesh.scheduler.filters.metrics import MetricsFilter
from novamesh.scheduler.filters.num_instances import (
    AggregateNumInstancesFilter,
    NumInstancesFilter,
)
from novamesh.scheduler.filters.numa_topology import NUMATopologyFilter
from novamesh.scheduler.filters.pci_passthrough import PciPassthroughFilter
from novamesh.scheduler.filters.ram import AggregateRamFilter, RamFilter
from novamesh.scheduler.filters.retry import RetryFilter
from novamesh.scheduler.filters.server_group import (
    ServerGroupAffinityFilter,
    ServerGroupAntiAffinityFilter,
)
from novamesh.scheduler.weighers import Weigher
from novamesh.scheduler.weighers.cross_cell import CrossCellWeigher
from novamesh.scheduler.weighers.load import BuildFailureWeigher, IoOpsWeigher, NumInstancesWeigher
from novamesh.scheduler.weighers.metrics import MetricsWeigher
from novamesh.scheduler.weighers.resources import CPUWeigher, DiskWeigher, RAMWeigher
from novamesh.scheduler.weighers.server_group import (
    ServerGroupSoftAffinityWeigher,
    ServerGroupSoftAntiAffinityWeigher,
)

T = TypeVar("T")

# TrustedFilter is not here: it needed an attestation service and is gone from Nova too.
FILTERS: dict[str, type[Filter]] = {
    cls.name: cls
    for cls in (
        AllHostsFilter,
        ComputeFilter,
        AvailabilityZoneFilter,
        ComputeCapabilitiesFilter,
        ImagePropertiesFilter,
        AggregateInstanceExtraSpecsFilter,
        AggregateMultiTenancyIsolation,
        AggregateImagePropertiesIsolation,
        AggregateTypeAffinityFilter,
        CoreFilter,
        AggregateCoreFilter,
        RamFilter,
        AggregateRamFilter,
        DiskFilter,
        AggregateDiskFilter,
        NumInstancesFilter,
        AggregateNumInstancesFilter,
        IoOpsFilter,
        AggregateIoOpsFilter,
        IsolatedHostsFilter,
        JsonFilter,
        DifferentHostFilter,
        SameHostFilter,
        SimpleCIDRAffinityFilter,
        RetryFilter,
        ServerGroupAffinityFilter,
        ServerGroupAntiAffinityFilter,
        PciPassthroughFilter,
        NUMATopologyFilter,
        MetricsFilter,
    )
}

WEIGHERS: dict[str, type[Weigher]] = {
    cls.name: cls
    for cls in (
        RAMWeigher,
        CPUWeigher,
        DiskWeigher,
        IoOpsWeigher,
        NumInstancesWeigher,
        BuildFailureWeigher,
        MetricsWeigher,
        ServerGroupSoftAffinityWeigher,
        ServerGroupSoftAntiAffinityWeigher,
        CrossCellWeigher,
    )
}


def _lookup(table: dict[str, type[T]], names: Sequence[str], kind: str) -> list[type[T]]:
    # Nova's configuration names plugins by class path; accept that spelling too.
    out = []
    for raw in names:
        name = raw.strip().rsplit(".", 1)[-1]
        if name not in table:
            raise ValueError(f"unknown scheduler {kind} {raw!r}; known: {', '.join(sorted(table))}")
        out.append(table[name])
    return out


def build_filters(names: Sequence[str], cfg: SchedulerConfig) -> list[Filter]:
    return [cls(cfg) for cls in _lookup(FILTERS, names, "filter")]


def build_weighers(names: Sequence[str], cfg: SchedulerConfig) -> list[Weigher]:
    return [cls(cfg) for cls in _lookup(WEIGHERS, names, "weigher")]
