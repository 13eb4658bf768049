"""Table tests: NUMATopologyFilter and PciPassthroughFilter."""

from __future__ import annotations

import dataclasses

import pytest
from novamesh.common.config import SchedulerConfig
from novamesh.scheduler import registry
from novamesh.scheduler.fakes import host_state
from novamesh.scheduler.host_state import HostState, NumaCell, PciPool
from novamesh.scheduler.spec import Flavor, ImageMeta, RequestSpec


def passes(name: str, host: HostState, spec: RequestSpec) -> bool:
    cfg = dataclasses.replace(SchedulerConfig(), pci_alias=["gpu:10de:1eb8", "nic:8086:1572"])
    [flt] = registry.build_filters([name], cfg)
    return not flt.relevant(spec) or flt.check(host, spec) is None


def numa_host(*cells: tuple[int, int], cpu_ratio: float = 1.0) -> HostState:
    host = host_state(cpu_allocation_ratio=cpu_ratio)
    host.numa_cells = [NumaCell(i, cpus, mem) for i, (cpus, mem) in enumerate(cells)]
    return host


def numa_spec(vcpus: int, memory_mb: int, **extra: str) -> RequestSpec:
    return RequestSpec(flavor=Flavor(vcpus=vcpus, memory_mb=memory_mb, extra_specs=extra))


@pytest.mark.parametrize(
    ("host", "spec", "expected"),
    [
        # No topology requested: any host.
        (host_state(), numa_spec(4, 4096), True),
        (numa_host((8, 8192), (8, 8192)), numa_spec(8, 8192, **{"hw:numa_nodes": "2"}), True),
        (numa_host((8, 8192), (8, 8192)), numa_spec(8, 8192, **{"hw:numa_nodes": "1"}), True),
        (numa_host((8, 8192), (8, 8192)), numa_spec(12, 8192, **{"hw:numa_nodes": "1"}), False),
        (
            numa_host((8, 8192), (8, 8192), cpu_ratio=2.0),
            numa_spec(12, 8192, **{"hw:numa_nodes": "1"}),
            True,
        ),
        # Dedicated CPUs are never oversubscribed.
        (
            numa_host((8, 8192), (8, 8192), cpu_ratio=2.0),
            numa_spec(12, 8192, **{"hw:cpu_policy": "dedicated"}),
            False,
        ),
        (numa_host((8, 8192)), numa_spec(4, 4096, **{"hw:numa_nodes": "2"}), False),
        (host_state(), numa_spec(4, 4096, **{"hw:numa_nodes": "1"}), False),
        # Asymmetric cells: the big one must go to the big host cell.
        (
            numa_host((2, 2048), (8, 8192)),
            numa_spec(
                8,
                8192,
                **{
                    "hw:numa_nodes": "2",
                    "hw:numa_cpus.0": "0-5",
                    "hw:numa_mem.0": "6144",
                    "hw:numa_cpus.1": "6,7",
                    "hw:numa_mem.1": "2048",
                },
            ),
            True,
        ),
    ],
)
def test_numa_topology_filter(host: HostState, spec: RequestSpec, expected: bool) -> None:
    assert passes("NUMATopologyFilter", host, spec) is expected


def test_numa_nodes_from_the_image() -> None:
    spec = numa_spec(4, 4096)
    spec.image = ImageMeta(properties={"hw_numa_nodes": "2"})
    assert not passes("NUMATopologyFilter", numa_host((8, 8192)), spec)


def test_bad_numa_request_is_invalid_input() -> None:
    with pytest.raises(ValueError):
        passes(
            "NUMATopologyFilter", numa_host((8, 8192)), numa_spec(4, 4096, **{"hw:numa_nodes": "x"})
        )


def pci_host(*pools: tuple[str, str, int]) -> HostState:
    host = host_state()
    host.pci_pools = [PciPool(v, p, n) for v, p, n in pools]
    return host


@pytest.mark.parametrize(
    ("host", "alias", "expected"),
    [
        (pci_host(), "", True),
        (pci_host(("10de", "1eb8", 2)), "gpu:2", True),
        (pci_host(("10de", "1eb8", 1)), "gpu:2", False),
        (pci_host(("10DE", "1EB8", 1), ("8086", "1572", 4)), "gpu, nic:4", True),
        (pci_host(("8086", "1572", 4)), "gpu:1", False),
        (pci_host(), "nic:1", False),
    ],
)
def test_pci_passthrough_filter(host: HostState, alias: str, expected: bool) -> None:
    spec = RequestSpec(flavor=Flavor(extra_specs={"pci_passthrough:alias": alias}))
    assert passes("PciPassthroughFilter", host, spec) is expected


def test_undefined_pci_alias_is_invalid_input() -> None:
    spec = RequestSpec(flavor=Flavor(extra_specs={"pci_passthrough:alias": "fpga:1"}))
    with pytest.raises(ValueError, match="fpga"):
        passes("PciPassthroughFilter", pci_host(("1", "2", 1)), spec)
