"""Table tests: AggregateMultiTenancyIsolation, AggregateImagePropertiesIsolation,
AggregateTypeAffinityFilter and the per-aggregate resource and load limits."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from novamesh.common.config import SchedulerConfig
from novamesh.scheduler import registry
from novamesh.scheduler.fakes import aggregate, host_state
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import Flavor, ImageMeta, RequestSpec


def passes(name: str, host: HostState, spec: RequestSpec, **cfg: Any) -> bool:
    conf = dataclasses.replace(SchedulerConfig(), **cfg)
    [flt] = registry.build_filters([name], conf)
    return not flt.relevant(spec) or flt.check(host, spec) is None


@pytest.mark.parametrize(
    ("metadata", "project", "expected"),
    [
        ({}, "p1", True),
        ({"filter_tenant_id": "p1"}, "p1", True),
        ({"filter_tenant_id": "p1,p2"}, "p2", True),
        ({"filter_tenant_id": "p1", "filter_tenant_id_2": "p3"}, "p3", True),
        ({"filter_tenant_id": "p1"}, "p9", False),
    ],
)
def test_multi_tenancy_isolation(metadata: dict[str, str], project: str, expected: bool) -> None:
    host = host_state(aggregates=[aggregate("a", **metadata)])
    spec = RequestSpec(project_id=project)
    assert passes("AggregateMultiTenancyIsolation", host, spec) is expected


@pytest.mark.parametrize(
    ("metadata", "props", "namespace", "expected"),
    [
        ({"os_distro": "ubuntu,debian"}, {"os_distro": "debian"}, "", True),
        ({"os_distro": "ubuntu"}, {"os_distro": "windows"}, "", False),
        ({"os_distro": "ubuntu"}, {}, "", True),
        ({"os_distro": "ubuntu"}, {"os_distro": "windows"}, "isolate", True),
        ({"isolate.os": "linux"}, {"isolate.os": "windows"}, "isolate", False),
        ({"isolate.os": "linux"}, {"isolate.os": "linux"}, "isolate", True),
    ],
)
def test_image_properties_isolation(
    metadata: dict[str, str], props: dict[str, str], namespace: str, expected: bool
) -> None:
    host = host_state(aggregates=[aggregate("a", **metadata)])
    spec = RequestSpec(image=ImageMeta(properties=props))
    name = "AggregateImagePropertiesIsolation"
    ns = {"aggregate_image_properties_isolation_namespace": namespace}
    assert passes(name, host, spec, **ns) is expected


@pytest.mark.parametrize(
    ("metadata", "flavor", "expected"),
    [
        ({}, "m1.small", True),
        ({"instance_type": "m1.small"}, "m1.small", True),
        ({"instance_type": "m1.nano, m1.small"}, "m1.small", True),
        ({"instance_type": "m1.nano"}, "m1.small", False),
    ],
)
def test_type_affinity(metadata: dict[str, str], flavor: str, expected: bool) -> None:
    host = host_state(aggregates=[aggregate("a", **metadata)])
    spec = RequestSpec(flavor=Flavor(name=flavor))
    assert passes("AggregateTypeAffinityFilter", host, spec) is expected


def spec_of(vcpus: int = 1, memory_mb: int = 1024, root_gb: int = 10, **kw: Any) -> RequestSpec:
    return RequestSpec(
        flavor=Flavor(vcpus=vcpus, memory_mb=memory_mb, root_gb=root_gb, **kw),
    )


# host_state(): 16 CPUs (ratio 4), 32768 MB RAM (ratio 1), 500 GB disk (ratio 1).
@pytest.mark.parametrize(
    ("name", "host_kw", "aggs", "spec", "expected"),
    [
        ("RamFilter", {}, [], spec_of(memory_mb=32768), True),
        ("RamFilter", {"memory_mb_used": 1}, [], spec_of(memory_mb=32768), False),
        ("RamFilter", {"ram_allocation_ratio": 1.5}, [], spec_of(memory_mb=40000), True),
        ("AggregateRamFilter", {}, [{"ram_allocation_ratio": "2"}], spec_of(memory_mb=40000), True),
        (
            "AggregateRamFilter",
            {"ram_allocation_ratio": 2.0},
            [{"ram_allocation_ratio": "1.0"}, {"ram_allocation_ratio": "3.0"}],
            spec_of(memory_mb=40000),
            False,
        ),
        ("CoreFilter", {}, [], spec_of(vcpus=16), True),
        ("CoreFilter", {}, [], spec_of(vcpus=17), False),
        ("CoreFilter", {"vcpus_used": 60}, [], spec_of(vcpus=4), True),
        ("CoreFilter", {"vcpus_used": 61}, [], spec_of(vcpus=4), False),
        ("CoreFilter", {"vcpus": 0}, [], spec_of(vcpus=4), True),
        (
            "AggregateCoreFilter",
            {"vcpus_used": 20},
            [{"cpu_allocation_ratio": "1"}],
            spec_of(),
            False,
        ),
        ("DiskFilter", {}, [], spec_of(root_gb=500), True),
        ("DiskFilter", {}, [], spec_of(root_gb=500, swap=1), False),
        ("DiskFilter", {"local_gb_used": 500}, [], spec_of(root_gb=1), False),
        ("AggregateDiskFilter", {}, [{"disk_allocation_ratio": "2"}], spec_of(root_gb=900), True),
    ],
)
def test_resource_filters(
    name: str,
    host_kw: dict[str, Any],
    aggs: list[dict[str, str]],
    spec: RequestSpec,
    expected: bool,
) -> None:
    host = host_state(aggregates=[aggregate(f"a{i}", **md) for i, md in enumerate(aggs)], **host_kw)
    assert passes(name, host, spec) is expected


def test_disk_filter_ignores_root_disk_when_booting_from_volume() -> None:
    spec = spec_of(root_gb=900)
    spec.is_bfv = True
    assert passes("DiskFilter", host_state(), spec)


@pytest.mark.parametrize(
    ("name", "count", "aggs", "expected"),
    [
        ("NumInstancesFilter", 49, [], True),
        ("NumInstancesFilter", 50, [], False),
        ("AggregateNumInstancesFilter", 49, [], True),
        ("AggregateNumInstancesFilter", 5, [{"max_instances_per_host": "5"}], False),
        ("AggregateNumInstancesFilter", 60, [{"max_instances_per_host": "100"}], True),
    ],
)
def test_num_instances_filters(
    name: str, count: int, aggs: list[dict[str, str]], expected: bool
) -> None:
    host = host_state(
        aggregates=[aggregate("a", **md) for md in aggs],
        instances=[f"i{i}" for i in range(count)],
    )
    assert passes(name, host, RequestSpec()) is expected


@pytest.mark.parametrize(
    ("name", "io_ops", "aggs", "expected"),
    [
        ("IoOpsFilter", 7, [], True),
        ("IoOpsFilter", 8, [], False),
        ("AggregateIoOpsFilter", 3, [{"max_io_ops_per_host": "3"}], False),
        ("AggregateIoOpsFilter", 10, [{"max_io_ops_per_host": "20"}], True),
        ("AggregateIoOpsFilter", 10, [{"max_io_ops_per_host": "bogus"}], False),
    ],
)
def test_io_ops_filters(name: str, io_ops: int, aggs: list[dict[str, str]], expected: bool) -> None:
    host = host_state(aggregates=[aggregate("a", **md) for md in aggs], num_io_ops=io_ops)
    assert passes(name, host, RequestSpec()) is expected
