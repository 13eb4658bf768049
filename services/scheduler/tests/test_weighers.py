"""Table tests: each weigher's raw values, and the framework's normalisation and multipliers."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from novamesh.common.config import SchedulerConfig
from novamesh.scheduler import registry
from novamesh.scheduler.fakes import aggregate, host_state
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import InstanceGroup, RequestSpec
from novamesh.scheduler.weighers import weigh_hosts


def best(names: list[str], hosts: list[HostState], spec: RequestSpec, **cfg: Any) -> list[str]:
    conf = dataclasses.replace(SchedulerConfig(), **cfg)
    ranked = weigh_hosts(registry.build_weighers(names, conf), hosts, spec)
    return [h.host for _, h in ranked]


def raw(name: str, host: HostState, spec: RequestSpec | None = None, **cfg: Any) -> float:
    conf = dataclasses.replace(SchedulerConfig(), **cfg)
    [weigher] = registry.build_weighers([name], conf)
    return weigher.weigh(host, spec or RequestSpec())


@pytest.mark.parametrize(
    ("name", "host_kw", "expected"),
    [
        ("RAMWeigher", {"memory_mb_used": 2048}, 30720),
        ("RAMWeigher", {"memory_mb_used": 2048, "ram_allocation_ratio": 1.5}, 47104),
        ("CPUWeigher", {"vcpus_used": 4}, 60),
        ("DiskWeigher", {"local_gb_used": 100}, 400 * 1024),
        ("IoOpsWeigher", {"num_io_ops": 3}, 3),
        ("NumInstancesWeigher", {"instances": ["a", "b"]}, 2),
    ],
)
def test_raw_values(name: str, host_kw: dict[str, Any], expected: float) -> None:
    assert raw(name, host_state(**host_kw)) == expected


def test_build_failures_weigh_negative() -> None:
    host = host_state()
    host.failed_builds = 3
    assert raw("BuildFailureWeigher", host) == -3


@pytest.mark.parametrize(
    ("metrics", "required", "expected"),
    [
        ({"cpu": 10.0, "load": 2.0}, True, 10 * 1.0 - 2 * 2.0),
        ({"cpu": 10.0}, True, -10000.0),
        ({"cpu": 10.0}, False, 10.0),
    ],
)
def test_metrics_weigher(metrics: dict[str, float], required: bool, expected: float) -> None:
    setting = ["cpu=1.0", "load=-2.0", "bogus"]
    host = host_state(metrics=metrics)
    got = raw("MetricsWeigher", host, metrics_weight_setting=setting, metrics_required=required)
    assert got == expected


def test_ram_spreads_and_a_negative_multiplier_stacks() -> None:
    hosts = [host_state(0, memory_mb_used=8000), host_state(1), host_state(2, memory_mb_used=100)]
    assert best(["RAMWeigher"], hosts, RequestSpec()) == ["host1", "host2", "host0"]
    stacked = best(["RAMWeigher"], hosts, RequestSpec(), ram_weight_multiplier=-1.0)
    assert stacked == ["host0", "host2", "host1"]


def test_weights_are_normalised_so_multipliers_compare() -> None:
    # host0 has a little more RAM free, host1 far more CPU; with equal multipliers the
    # normalised CPU difference (1.0) beats the normalised RAM difference (1.0) only via ties,
    # so a CPU multiplier of 2 decides it.
    hosts = [host_state(0, vcpus_used=60), host_state(1, memory_mb_used=10)]
    order = best(["RAMWeigher", "CPUWeigher"], hosts, RequestSpec(), cpu_weight_multiplier=2.0)
    assert order == ["host1", "host0"]
    order = best(["RAMWeigher", "CPUWeigher"], hosts, RequestSpec(), ram_weight_multiplier=3.0)
    assert order == ["host0", "host1"]


def test_aggregate_metadata_overrides_the_multiplier() -> None:
    stack = aggregate("stack", ram_weight_multiplier="-1.0")
    hosts = [
        host_state(0, memory_mb_used=8000, aggregates=[stack]),
        host_state(1, aggregates=[stack]),
    ]
    assert best(["RAMWeigher"], hosts, RequestSpec()) == ["host0", "host1"]


def test_io_ops_prefer_the_least_busy_host() -> None:
    hosts = [host_state(0, num_io_ops=5), host_state(1, num_io_ops=1)]
    assert best(["IoOpsWeigher"], hosts, RequestSpec()) == ["host1", "host0"]


def test_build_failures_push_a_host_back() -> None:
    hosts = [host_state(0), host_state(1)]
    hosts[0].failed_builds = 2
    assert best(["RAMWeigher", "BuildFailureWeigher"], hosts, RequestSpec()) == ["host1", "host0"]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("soft-affinity", ["host1", "host0"]), ("soft-anti-affinity", ["host0", "host1"])],
)
def test_soft_server_group_weighers(policy: str, expected: list[str]) -> None:
    hosts = [host_state(0), host_state(1, instances=["m1"])]
    group = InstanceGroup(uuid="g", policy=policy, members={"m1"})
    names = ["ServerGroupSoftAffinityWeigher", "ServerGroupSoftAntiAffinityWeigher"]
    assert best(names, hosts, RequestSpec(instance_group=group)) == expected


def test_cross_cell_weigher_prefers_the_source_cell() -> None:
    hosts = [host_state(0, cell_uuid="c2"), host_state(1, cell_uuid="c1")]
    spec = RequestSpec(source_cell_uuid="c1")
    assert best(["CrossCellWeigher"], hosts, spec) == ["host1", "host0"]
    assert best(["CrossCellWeigher"], hosts, RequestSpec()) == ["host0", "host1"]


def test_num_instances_weigher_is_neutral_by_default_and_packs_when_positive() -> None:
    hosts = [host_state(0), host_state(1, instances=["a"])]
    assert best(["NumInstancesWeigher"], hosts, RequestSpec()) == ["host0", "host1"]
    packed = best(["NumInstancesWeigher"], hosts, RequestSpec(), num_instances_weight_multiplier=1)
    assert packed == ["host1", "host0"]
