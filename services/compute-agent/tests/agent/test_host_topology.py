"""NUMA cells and PCI pools of the fake driver's hosts, with usage, in the agent's host report."""

from __future__ import annotations

import pytest
from novamesh.agent.convert import report_to_proto
from novamesh.agent.host_topology import HostTopology, NumaCell, PciPool, simulate, with_usage
from novamesh.agent.resources import Overcommit, ResourceTracker
from novamesh.agent.virt.fake import FakeDriver, FakeSettings
from novamesh.agent.virt.model import InstanceSpec, InsufficientCapacity


def test_simulate_splits_cpus_memory_and_devices_over_cells() -> None:
    topo = simulate(6, 8192, 2, ["8086:154d:3"])
    assert [c.cpus for c in topo.cells] == [(0, 1, 2), (3, 4, 5)]
    assert [c.memory_mb for c in topo.cells] == [4096, 4096]
    assert topo.cells[0].siblings == ((0, 1), (2,))
    assert topo.pci_pools == (
        PciPool("8086", "154d", 2, 0),
        PciPool("8086", "154d", 1, 1),
    )
    # More cells asked than CPUs: one cell per CPU at most.
    assert len(simulate(1, 1024, 4, []).cells) == 1


def test_usage_is_shared_out_by_cell_size() -> None:
    topo = HostTopology((NumaCell(0, (0, 1, 2), 3000), NumaCell(1, (3,), 1000)))
    used = with_usage(topo, vcpus_used=4, memory_used=2000)
    assert [(c.cpu_usage, c.memory_usage) for c in used.cells] == [(3, 1500), (1, 500)]


def test_fake_hosts_report_their_topology() -> None:
    settings = FakeSettings(
        hosts=("h-1",), vcpus=8, memory_mb=16384, numa_nodes=2, pci_devices=("10de:1eb8:2",)
    )
    tracker = ResourceTracker(FakeDriver(settings), Overcommit(), "nova")
    tracker.claim("h-1", InstanceSpec(uuid="i-1", vcpus=4, memory_mb=2048))
    msg = report_to_proto(tracker.report("h-1"))
    assert [(list(c.cpus), c.memory_mb) for c in msg.numa_cells] == [
        ([0, 1, 2, 3], 8192),
        ([4, 5, 6, 7], 8192),
    ]
    assert [(c.cpu_usage, c.memory_usage) for c in msg.numa_cells] == [(2, 1024), (2, 1024)]
    assert [list(s.cpus) for s in msg.numa_cells[0].siblings] == [[0, 1], [2, 3]]
    assert [(p.vendor_id, p.product_id, p.count, p.numa_node) for p in msg.pci_pools] == [
        ("10de", "1eb8", 1, 0),
        ("10de", "1eb8", 1, 1),
    ]


def _tracker() -> ResourceTracker:
    settings = FakeSettings(hosts=("h-1",), vcpus=8, memory_mb=16384, numa_nodes=2)
    return ResourceTracker(FakeDriver(settings), Overcommit(reserved_host_memory_mb=0), "nova")


def test_dedicated_guests_pin_cpus_cell_by_cell_until_none_fit() -> None:
    tracker = _tracker()
    pinned = {"hw:cpu_policy": "dedicated"}
    for n in (1, 2):
        spec = InstanceSpec(uuid=f"d-{n}", vcpus=4, memory_mb=1024, flavor_extra_specs=pinned)
        tracker.claim("h-1", spec)
    cells = report_to_proto(tracker.report("h-1")).numa_cells
    assert [list(c.pinned_cpus) for c in cells] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert [(c.cpu_usage, c.memory_usage) for c in cells] == [(4, 1024), (4, 1024)]
    third = InstanceSpec(uuid="d-3", vcpus=1, memory_mb=512, flavor_extra_specs=pinned)
    with pytest.raises(InsufficientCapacity) as err:
        tracker.claim("h-1", third)
    assert err.value.retryable
    # Nothing of the refused guest is left behind; a released guest's CPUs are free again.
    assert "d-3" not in tracker.instances("h-1")
    tracker.release("d-1")
    tracker.claim("h-1", third)
    cells = report_to_proto(tracker.report("h-1")).numa_cells
    assert [list(c.pinned_cpus) for c in cells] == [[0], [4, 5, 6, 7]]


def test_numa_guests_hold_their_cells_and_floating_guests_are_shared_out() -> None:
    tracker = _tracker()
    two_cells = {"hw:numa_nodes": "2"}
    tracker.claim(
        "h-1", InstanceSpec(uuid="n", vcpus=4, memory_mb=4096, flavor_extra_specs=two_cells)
    )
    tracker.claim("h-1", InstanceSpec(uuid="f", vcpus=2, memory_mb=2048))
    cells = report_to_proto(tracker.report("h-1")).numa_cells
    assert [(c.cpu_usage, c.memory_usage) for c in cells] == [(3, 3072), (3, 3072)]
    # A cell has 8192 MiB, 2048 of them held by "n" (floating guests hold no cell): 6200 fits
    # in neither.
    too_big = {"hw:numa_nodes": "1"}
    with pytest.raises(InsufficientCapacity):
        tracker.claim(
            "h-1", InstanceSpec(uuid="b", vcpus=2, memory_mb=6200, flavor_extra_specs=too_big)
        )


def _gpu_tracker() -> ResourceTracker:
    settings = FakeSettings(
        hosts=("h-1",), vcpus=8, memory_mb=16384, numa_nodes=2, pci_devices=("10de:1eb8:4",)
    )
    return ResourceTracker(
        FakeDriver(settings), Overcommit(reserved_host_memory_mb=0), "nova",
        pci_aliases=["gpu:10de:1eb8", "nic:8086:154d"],
    )  # fmt: skip


def _gpus(n: int, **extra: str) -> dict[str, str]:
    return {"pci_passthrough:alias": f"gpu:{n}", **extra}


def _free(tracker: ResourceTracker) -> list[tuple[int, int]]:
    pools = report_to_proto(tracker.report("h-1")).pci_pools
    return [(p.numa_node, p.count) for p in pools]


@pytest.mark.parametrize(
    ("claims", "free"),
    [
        ([_gpus(1)], [(0, 1), (1, 2)]),
        ([_gpus(3)], [(0, 0), (1, 1)]),
        ([_gpus(2), _gpus(2)], [(0, 0), (1, 0)]),
        # Guests held by cell 0 take its devices first, then the other cell's.
        ([_gpus(1, **{"hw:numa_nodes": "1"}), _gpus(2, **{"hw:numa_nodes": "1"})],
         [(0, 0), (1, 1)]),
        ([{}], [(0, 2), (1, 2)]),
    ],
)  # fmt: skip
def test_guests_hold_pci_devices(claims: list[dict[str, str]], free: list[tuple[int, int]]) -> None:
    tracker = _gpu_tracker()
    for n, specs in enumerate(claims):
        spec = InstanceSpec(uuid=f"g-{n}", vcpus=1, memory_mb=512, flavor_extra_specs=specs)
        tracker.claim("h-1", spec)
    assert _free(tracker) == free


def test_pci_devices_are_refused_when_gone_and_free_again_after_release() -> None:
    tracker = _gpu_tracker()
    tracker.claim("h-1", InstanceSpec(uuid="a", vcpus=1, memory_mb=512,
                                      flavor_extra_specs=_gpus(3)))  # fmt: skip
    late = InstanceSpec(uuid="b", vcpus=1, memory_mb=512, flavor_extra_specs=_gpus(2))
    with pytest.raises(InsufficientCapacity) as err:
        tracker.claim("h-1", late)
    assert err.value.retryable and "alias gpu" in str(err.value)
    assert "b" not in tracker.instances("h-1")
    # A move holds the source's devices under the migration's name until it is confirmed.
    tracker.rekey("a", "migration-1")
    assert _free(tracker) == [(0, 0), (1, 1)]
    tracker.release("migration-1")
    tracker.claim("h-1", late)
    assert _free(tracker) == [(0, 0), (1, 2)]
    unknown = InstanceSpec(uuid="c", vcpus=1, memory_mb=512,
                           flavor_extra_specs={"pci_passthrough:alias": "fpga:1"})  # fmt: skip
    with pytest.raises(InsufficientCapacity) as err:
        tracker.claim("h-1", unknown)
    assert not err.value.retryable
