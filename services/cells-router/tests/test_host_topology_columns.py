"""A node's NUMA cells and PCI pools survive the cell database on their way to the scheduler."""

from __future__ import annotations

from novamesh.agent.v1 import agent_pb2, host_topology_pb2
from novamesh.cells import convert
from novamesh.cells.db import models


def test_round_trip() -> None:
    sent = agent_pb2.HostResources(
        host="h1",
        nodename="h1",
        numa_cells=[
            host_topology_pb2.NumaCell(
                id=1,
                cpus=[2, 3],
                memory_mb=2048,
                cpu_usage=1,
                pinned_cpus=[3],
                siblings=[host_topology_pb2.CpuSiblings(cpus=[2, 3])],
            )
        ],
        pci_pools=[
            host_topology_pb2.PciDevicePool(
                vendor_id="8086", product_id="154d", count=2, numa_node=0, tags={"a": "b"}
            )
        ],
    )
    node = models.ComputeNode()
    convert.apply_resources(node, sent)
    back = convert.host_resources(node)
    assert list(back.numa_cells) == list(sent.numa_cells)
    assert list(back.pci_pools) == list(sent.pci_pools)
    # Nodes recorded before topology was reported have none.
    assert list(convert.host_resources(models.ComputeNode()).numa_cells) == []
