"""Table tests: the extra-spec operator grammar, ComputeCapabilitiesFilter and
AggregateInstanceExtraSpecsFilter."""

from __future__ import annotations

from typing import Any

import pytest
from novamesh.common.config import SchedulerConfig
from novamesh.scheduler import registry
from novamesh.scheduler.fakes import aggregate, host_state
from novamesh.scheduler.filters.ops import match
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import Flavor, RequestSpec


@pytest.mark.parametrize(
    ("value", "requirement", "expected"),
    [
        ("16", "= 8", True),
        ("4", "= 8", False),
        ("8", "== 8", True),
        ("8.0", "== 8", True),
        ("9", "== 8", False),
        ("9", "!= 8", True),
        ("8", ">= 8", True),
        ("7", ">= 8", False),
        ("8", "<= 8", True),
        ("9", "<= 8", False),
        ("2.1.0", "s== 2.1.0", True),
        ("2.1.0", "s!= 2.1.0", False),
        ("b", "s>= a", True),
        ("b", "s> b", False),
        ("a", "s<= a", True),
        ("a", "s< b", True),
        ("gcc-9", "<in> gcc", True),
        ("clang", "<in> gcc", False),
        (["aes", "mmx", "sse"], "<all-in> aes mmx", True),
        (["aes"], "<all-in> aes mmx", False),
        ("fpu", "<or> fpu <or> gpu", True),
        ("gpu", "<or> fpu <or> gpu", True),
        ("tpu", "<or> fpu <or> gpu", False),
        ("True", "True", True),
        ("abc", "abd", False),
        (None, "= 1", False),
        (None, "x", False),
        ("x", ">=", False),
        ("many", ">= 2", False),
    ],
)
def test_operator_grammar(value: Any, requirement: str, expected: bool) -> None:
    assert match(value, requirement) is expected


def passes(name: str, host: HostState, extra_specs: dict[str, str]) -> bool:
    [flt] = registry.build_filters([name], SchedulerConfig())
    spec = RequestSpec(flavor=Flavor(name="m1", extra_specs=extra_specs))
    return not flt.relevant(spec) or flt.check(host, spec) is None


@pytest.mark.parametrize(
    ("extra_specs", "expected"),
    [
        ({}, True),
        ({"capabilities:cpu_info:features": "<all-in> aes avx"}, True),
        ({"capabilities:cpu_info:features": "<in> avx512"}, False),
        ({"capabilities:cpu_info:arch": "x86_64"}, True),
        ({"capabilities:hypervisor_type": "s== QEMU"}, True),
        ({"capabilities:hypervisor_type": "<or> xen <or> vmware"}, False),
        ({"capabilities:vcpus_total": ">= 16"}, True),
        ({"capabilities:free_ram_mb": ">= 65536"}, False),
        ({"capabilities:no_such_thing": "1"}, False),
        # Unscoped keys count only when the host has such an attribute.
        ({"free_ram_mb": ">= 1024"}, True),
        ({"some_unrelated_key": "whatever"}, True),
        # Other scopes belong to other filters.
        ({"hw:cpu_policy": "dedicated", "trait:HW_CPU_X86_AVX": "required"}, True),
    ],
)
def test_compute_capabilities_filter(extra_specs: dict[str, str], expected: bool) -> None:
    assert passes("ComputeCapabilitiesFilter", host_state(), extra_specs) is expected


SSD = aggregate("fast", storage="ssd,nvme", gpus="2")


@pytest.mark.parametrize(
    ("aggs", "extra_specs", "expected"),
    [
        ([], {}, True),
        ([SSD], {"storage": "ssd"}, True),
        ([SSD], {"aggregate_instance_extra_specs:storage": "nvme"}, True),
        ([SSD], {"storage": "hdd"}, False),
        ([], {"storage": "ssd"}, False),
        ([SSD], {"gpus": ">= 2"}, True),
        ([SSD], {"gpus": ">= 4"}, False),
        ([SSD], {"capabilities:storage": "hdd", "hw:mem_page_size": "large"}, True),
    ],
)
def test_aggregate_instance_extra_specs_filter(
    aggs: list[Any], extra_specs: dict[str, str], expected: bool
) -> None:
    host = host_state(aggregates=aggs)
    assert passes("AggregateInstanceExtraSpecsFilter", host, extra_specs) is expected
