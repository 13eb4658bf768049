"""Host NUMA cells and PCI pools from the host-state feed reach the filters."""

from __future__ import annotations

from novamesh.agent.v1 import agent_pb2, host_topology_pb2
from novamesh.cells.v1 import router_pb2
from novamesh.common.config import SchedulerConfig
from novamesh.scheduler.convert import report_from_proto
from novamesh.scheduler.filters.numa_topology import NUMATopologyFilter
from novamesh.scheduler.filters.pci_passthrough import PciPassthroughFilter
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import Flavor, RequestSpec


def _state(pinned: list[int]) -> HostState:
    msg = router_pb2.HostStateUpdate(
        resources=agent_pb2.HostResources(
            compute_node_uuid="n1",
            host="h1",
            vcpus=8,
            memory_mb=16384,
            numa_cells=[
                host_topology_pb2.NumaCell(
                    id=0, cpus=[0, 1, 2, 3], memory_mb=8192, pinned_cpus=pinned
                ),
                host_topology_pb2.NumaCell(id=1, cpus=[4, 5, 6, 7], memory_mb=8192, cpu_usage=4),
            ],
            pci_pools=[
                host_topology_pb2.PciDevicePool(
                    vendor_id="10de", product_id="1eb8", count=2, numa_node=-1
                )
            ],
        )
    )
    report = report_from_proto(msg)
    state = HostState(uuid=report.uuid, host=report.host)
    state.apply(report, now=0.0)
    return state


def _spec(**extra_specs: str) -> RequestSpec:
    flavor = Flavor(id="1", name="f", vcpus=4, memory_mb=4096, extra_specs=extra_specs)
    return RequestSpec(project_id="p", user_id="u", flavor=flavor)


def test_numa_cells_and_pinned_cpus_reach_the_filter() -> None:
    state = _state(pinned=[])
    assert state.numa_cells[1].cpu_usage == 4
    numa = NUMATopologyFilter(SchedulerConfig())
    dedicated = _spec(**{"hw:cpu_policy": "dedicated"})
    assert numa.check(state, dedicated) is None
    # Cell 0's CPUs pinned, cell 1's used: no cell has four free dedicated CPUs.
    assert numa.check(_state(pinned=[0, 1]), dedicated) is not None


def test_pci_pools_reach_the_filter() -> None:
    state = _state(pinned=[])
    assert state.pci_pools[0].numa_node is None
    pci = PciPassthroughFilter(SchedulerConfig(pci_alias=["gpu:10de:1eb8"]))
    assert pci.check(state, _spec(**{"pci_passthrough:alias": "gpu:2"})) is None
    assert pci.check(state, _spec(**{"pci_passthrough:alias": "gpu:3"})) is not None
