"""Table tests: DifferentHost, SameHost, SimpleCIDRAffinity, server groups, JsonFilter."""

from __future__ import annotations

import json
from typing import Any

import pytest
from novamesh.common.config import SchedulerConfig
from novamesh.scheduler import registry
from novamesh.scheduler.fakes import host_state
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import InstanceGroup, RequestSpec


def passes(name: str, host: HostState, spec: RequestSpec) -> bool:
    [flt] = registry.build_filters([name], SchedulerConfig())
    return not flt.relevant(spec) or flt.check(host, spec) is None


@pytest.mark.parametrize(
    ("name", "hints", "expected"),
    [
        ("DifferentHostFilter", {}, True),
        ("DifferentHostFilter", {"different_host": ["i1"]}, False),
        ("DifferentHostFilter", {"different_host": ["i9"]}, True),
        ("SameHostFilter", {}, True),
        ("SameHostFilter", {"same_host": ["i9", "i2"]}, True),
        ("SameHostFilter", {"same_host": ["i9"]}, False),
        ("SimpleCIDRAffinityFilter", {"build_near_host_ip": ["10.0.0.9"]}, True),
        ("SimpleCIDRAffinityFilter", {"build_near_host_ip": ["10.0.1.9"]}, False),
        ("SimpleCIDRAffinityFilter", {"build_near_host_ip": ["10.0.1.9"], "cidr": ["/16"]}, True),
    ],
)
def test_instance_and_ip_affinity(name: str, hints: dict[str, list[str]], expected: bool) -> None:
    host = host_state(instances=["i1", "i2"], host_ip="10.0.0.5")
    assert passes(name, host, RequestSpec(scheduler_hints=hints)) is expected


def test_cidr_hint_that_is_not_a_network_is_invalid_input() -> None:
    hints = {"build_near_host_ip": ["10.0.0.1"], "cidr": ["/99"]}
    with pytest.raises(ValueError, match="cidr"):
        passes("SimpleCIDRAffinityFilter", host_state(), RequestSpec(scheduler_hints=hints))


@pytest.mark.parametrize(
    ("name", "group", "expected"),
    [
        ("ServerGroupAffinityFilter", None, True),
        ("ServerGroupAffinityFilter", InstanceGroup(policy="affinity"), True),
        ("ServerGroupAffinityFilter", InstanceGroup(policy="affinity", hosts=["host0"]), True),
        ("ServerGroupAffinityFilter", InstanceGroup(policy="affinity", hosts=["host7"]), False),
        ("ServerGroupAntiAffinityFilter", InstanceGroup(policy="anti-affinity"), True),
        (
            "ServerGroupAntiAffinityFilter",
            InstanceGroup(policy="anti-affinity", hosts=["host0"]),
            False,
        ),
        (
            "ServerGroupAntiAffinityFilter",
            InstanceGroup(policy="anti-affinity", members={"i1"}),
            False,
        ),
        (
            "ServerGroupAntiAffinityFilter",
            InstanceGroup(
                policy="anti-affinity", members={"i1"}, rules={"max_server_per_host": "2"}
            ),
            True,
        ),
        (
            "ServerGroupAntiAffinityFilter",
            InstanceGroup(
                policy="anti-affinity", members={"i1", "i2"}, rules={"max_server_per_host": "2"}
            ),
            False,
        ),
        # Soft policies never filter.
        ("ServerGroupAntiAffinityFilter", InstanceGroup(policy="soft-anti-affinity"), True),
    ],
)
def test_server_group_filters(name: str, group: InstanceGroup | None, expected: bool) -> None:
    host = host_state(instances=["i1", "i2"])
    assert passes(name, host, RequestSpec(instance_group=group)) is expected


# host_state(): 32768 MB RAM free, 500 GB disk free, 16 CPUs, hypervisor QEMU.
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (["and", [">=", "$free_ram_mb", 1024], [">=", "$free_disk_mb", 200 * 1024]], True),
        (["and", [">=", "$free_ram_mb", 65536], [">=", "$free_disk_mb", 1]], False),
        (["or", [">=", "$free_ram_mb", 65536], ["=", "$hypervisor_type", "QEMU"]], True),
        (["not", ["=", "$hypervisor_type", "QEMU"]], False),
        (["in", "$host", "host0", "host1"], True),
        (["in", "$host", "host3"], False),
        (["<", "$vcpus_total", 32], True),
        ([">", "$vcpus_total", 32], False),
        (["<=", "$num_instances", 0], True),
        (["=", "$cpu_info.arch", "x86_64"], True),
        (["=", "$no_such_attribute", 1], False),
        ([], True),
    ],
)
def test_json_filter(query: list[Any], expected: bool) -> None:
    spec = RequestSpec(scheduler_hints={"query": [json.dumps(query)]})
    assert passes("JsonFilter", host_state(), spec) is expected


@pytest.mark.parametrize("bad", ["not json", '{"a": 1}', '["~", 1, 2]'])
def test_json_filter_rejects_bad_queries(bad: str) -> None:
    with pytest.raises(ValueError):
        passes("JsonFilter", host_state(), RequestSpec(scheduler_hints={"query": [bad]}))
