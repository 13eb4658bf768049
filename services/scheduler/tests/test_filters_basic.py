"""Table tests: AllHosts, Compute, AvailabilityZone, ImageProperties, Retry, IsolatedHosts,
Metrics."""

from __future__ import annotations

import dataclasses

import pytest
from novamesh.common.config import SchedulerConfig
from novamesh.scheduler import registry
from novamesh.scheduler.fakes import aggregate, host_state
from novamesh.scheduler.filters import Filter
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import ImageMeta, RequestSpec


def run(name: str, host: HostState, spec: RequestSpec, **cfg: object) -> bool:
    """Whether the host passes the named filter (a filter with nothing to check passes)."""
    conf = dataclasses.replace(SchedulerConfig(), **cfg)  # type: ignore[arg-type]
    [flt] = registry.build_filters([name], conf)
    assert isinstance(flt, Filter)
    return not flt.relevant(spec) or flt.check(host, spec) is None


def test_all_hosts_passes_everything() -> None:
    assert run("AllHostsFilter", host_state(service_up=False), RequestSpec())


@pytest.mark.parametrize(
    ("up", "disabled", "passes"),
    [(True, False, True), (False, False, False), (True, True, False), (False, True, False)],
)
def test_compute_filter(up: bool, disabled: bool, passes: bool) -> None:
    host = host_state(service_up=up, service_disabled=disabled)
    assert run("ComputeFilter", host, RequestSpec()) is passes


AZ2 = aggregate("a", availability_zone="az2")


@pytest.mark.parametrize(
    ("host_zone", "aggs", "requested", "passes"),
    [
        ("nova", [], "", True),
        ("nova", [], "nova", True),
        ("nova", [], "az2", False),
        ("nova", [AZ2], "az2", True),
        ("nova", [AZ2], "nova", False),
        ("az3", [], "az1,az3", True),
    ],
)
def test_availability_zone_filter(
    host_zone: str, aggs: list[object], requested: str, passes: bool
) -> None:
    host = host_state(zone=host_zone, aggregates=aggs)  # type: ignore[arg-type]
    assert run("AvailabilityZoneFilter", host, RequestSpec(availability_zone=requested)) is passes


@pytest.mark.parametrize(
    ("props", "passes"),
    [
        ({}, True),
        ({"hw_architecture": "x86_64"}, True),
        ({"architecture": "amd64"}, True),
        ({"hw_architecture": "aarch64"}, False),
        ({"img_hv_type": "kvm"}, True),
        ({"img_hv_type": "qemu"}, True),
        ({"img_hv_type": "xen"}, False),
        ({"hw_vm_mode": "hvm"}, True),
        ({"hw_vm_mode": "exe"}, False),
        ({"img_hv_requested_version": ">= 8.0"}, True),
        ({"img_hv_requested_version": ">= 9.0"}, False),
    ],
)
def test_image_properties_filter(props: dict[str, str], passes: bool) -> None:
    spec = RequestSpec(image=ImageMeta(properties=props))
    assert run("ImagePropertiesFilter", host_state(), spec) is passes


@pytest.mark.parametrize(
    ("tried", "passes"),
    [([], True), ([("host0", "host0")], False), ([("host1", "host1")], True)],
)
def test_retry_filter(tried: list[tuple[str, str]], passes: bool) -> None:
    assert run("RetryFilter", host_state(0), RequestSpec(retry_hosts=tried)) is passes


@pytest.mark.parametrize(
    ("image", "host", "restrict", "passes"),
    [
        ("img-iso", "host0", True, True),
        ("img-iso", "host1", True, False),
        ("img-other", "host0", True, False),
        ("img-other", "host1", True, True),
        ("img-other", "host0", False, True),
        ("img-iso", "host1", False, False),
    ],
)
def test_isolated_hosts_filter(image: str, host: str, restrict: bool, passes: bool) -> None:
    index = int(host[-1])
    spec = RequestSpec(image=ImageMeta(id=image))
    assert (
        run(
            "IsolatedHostsFilter",
            host_state(index),
            spec,
            isolated_images=["img-iso"],
            isolated_hosts=["host0"],
            restrict_isolated_hosts_to_isolated_images=restrict,
        )
        is passes
    )


@pytest.mark.parametrize(
    ("metrics", "passes"),
    [({"cpu.percent": 3.0, "load": 1.0}, True), ({"load": 1.0}, False), ({}, False)],
)
def test_metrics_filter(metrics: dict[str, float], passes: bool) -> None:
    host = host_state(metrics=metrics)
    setting = ["cpu.percent=1.0", "load=-1"]
    assert run("MetricsFilter", host, RequestSpec(), metrics_weight_setting=setting) is passes


def test_unknown_filter_name_is_refused_and_class_paths_are_accepted() -> None:
    with pytest.raises(ValueError, match="unknown scheduler filter 'NoSuchFilter'"):
        registry.build_filters(["NoSuchFilter"], SchedulerConfig())
    [flt] = registry.build_filters(
        ["nova.scheduler.filters.ram_filter.RamFilter"], SchedulerConfig()
    )
    assert flt.name == "RamFilter"
