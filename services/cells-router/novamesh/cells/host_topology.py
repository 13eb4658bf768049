"""A compute node's NUMA cells and PCI pools between the agent's report, the cell database
(JSON columns, as Nova keeps numa_topology and pci_stats) and the scheduler's host-state feed."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from novamesh.agent.v1 import agent_pb2, host_topology_pb2


def to_columns(res: agent_pb2.HostResources) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return (
        [json_format.MessageToDict(c) for c in res.numa_cells],
        [json_format.MessageToDict(p) for p in res.pci_pools],
    )


def from_columns(
    numa: list[dict[str, Any]] | None, pci: list[dict[str, Any]] | None
) -> tuple[list[host_topology_pb2.NumaCell], list[host_topology_pb2.PciDevicePool]]:
    return (
        [json_format.ParseDict(c, host_topology_pb2.NumaCell()) for c in numa or []],
        [json_format.ParseDict(p, host_topology_pb2.PciDevicePool()) for p in pci or []],
    )
