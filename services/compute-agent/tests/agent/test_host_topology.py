"""NUMA cells and PCI pools of the fake driver's hosts, with usage, in the agent's host report."""

from __future__ import annotations

from novamesh.agent.convert import report_to_proto
from novamesh.agent.host_topology import HostTopology, NumaCell, PciPool, simulate, with_usage
from novamesh.agent.resources import Overcommit, ResourceTracker
from novamesh.agent.virt.fake import FakeDriver, FakeSettings
from novamesh.agent.virt.model import InstanceSpec


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
