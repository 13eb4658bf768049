"""The scheduler's in-memory view of every compute node, fed by the router's host-state stream.

Placement is the authority on capacity; this view carries everything placement does not know
(service state, AZ, instances, I/O ops, metrics, capabilities) and is consumed as picks are made,
so later picks in the same or a concurrent request see earlier ones before the agents report them.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from novamesh.scheduler.aggregates import Aggregate
from novamesh.scheduler.spec import RequestSpec

# How long a pick made here is remembered on top of what the agents report. Long enough for the
# router to create the instance and the agent to report it; a claim lives in placement anyway.
PENDING_TTL = 300.0


@dataclass(slots=True)
class HostReport:
    """One host as reported by the router (a HostStateUpdate)."""

    uuid: str
    host: str
    nodename: str = ""
    cell_uuid: str = ""
    hypervisor_type: str = ""
    hypervisor_version: int = 0
    hypervisor_hostname: str = ""
    vcpus: int = 0
    vcpus_used: int = 0
    memory_mb: int = 0
    memory_mb_used: int = 0
    local_gb: int = 0
    local_gb_used: int = 0
    running_vms: int = 0
    cpu_allocation_ratio: float = 0.0
    ram_allocation_ratio: float = 0.0
    disk_allocation_ratio: float = 0.0
    host_ip: str = ""
    availability_zone: str = ""
    cpu_info: str = ""
    traits: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    service_up: bool = True
    service_disabled: bool = False
    num_io_ops: int = 0
    instance_uuids: list[str] = field(default_factory=list)
    numa_cells: list[NumaCell] = field(default_factory=list)
    pci_pools: list[PciPool] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CellTake:
    """What a pick takes of one host NUMA cell."""

    cell: int
    cpus: int
    memory_mb: int


@dataclass(frozen=True, slots=True)
class PoolTake:
    """How many devices a pick takes of one PCI pool (vendor, product lower-cased)."""

    vendor_id: str
    product_id: str
    numa_node: int | None
    count: int


@dataclass(slots=True)
class Pending:
    instance_uuid: str
    memory_mb: int
    disk_mb: int
    vcpus: int
    expires: float
    cells: tuple[CellTake, ...] = ()
    devices: tuple[PoolTake, ...] = ()


@dataclass(slots=True)
class NumaCell:
    id: int
    cpus: int
    memory_mb: int
    cpu_usage: int = 0
    memory_usage: int = 0


@dataclass(slots=True)
class PciPool:
    vendor_id: str
    product_id: str
    count: int
    numa_node: int | None = None


@dataclass(slots=True, eq=False)
class HostState:
    uuid: str
    host: str
    nodename: str = ""
    cell_uuid: str = ""
    hypervisor_type: str = ""
    hypervisor_version: int = 0
    hypervisor_hostname: str = ""
    host_ip: str = ""
    availability_zone: str = ""
    cpu_info: dict[str, Any] = field(default_factory=dict)
    traits: frozenset[str] = frozenset()
    metrics: dict[str, float] = field(default_factory=dict)
    service_up: bool = True
    service_disabled: bool = False
    total_usable_ram_mb: int = 0
    free_ram_mb: int = 0
    total_usable_disk_gb: int = 0
    free_disk_mb: int = 0
    vcpus_total: int = 0
    vcpus_used: int = 0
    cpu_allocation_ratio: float = 1.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    num_instances: int = 0
    num_io_ops: int = 0
    instances: set[str] = field(default_factory=set)
    # Builds that failed here recently (BuildFailureWeigher): the `failed_builds` metric.
    failed_builds: int = 0
    numa_cells: list[NumaCell] = field(default_factory=list)
    pci_pools: list[PciPool] = field(default_factory=list)
    aggregates: list[Aggregate] = field(default_factory=list)
    pending: dict[str, Pending] = field(default_factory=dict)

    @property
    def free_vcpus(self) -> float:
        return self.vcpus_total * self.cpu_allocation_ratio - self.vcpus_used

    def aggregate_values(self, key: str) -> list[str]:
        """Every value aggregates of this host give `key` (operators set them per aggregate)."""
        return [a.metadata[key] for a in self.aggregates if key in a.metadata]

    def apply(self, report: HostReport, now: float) -> None:
        """Replace the reported part of the state, then re-apply picks not yet reported."""
        self.host = report.host
        self.nodename = report.nodename or report.host
        self.cell_uuid = report.cell_uuid
        self.hypervisor_type = report.hypervisor_type
        self.hypervisor_version = report.hypervisor_version
        self.hypervisor_hostname = report.hypervisor_hostname
        self.host_ip = report.host_ip
        self.availability_zone = report.availability_zone
        self.cpu_info = _parse_cpu_info(report.cpu_info)
        self.traits = frozenset(report.traits)
        self.metrics = dict(report.metrics)
        # Nova keeps the recent build failures of a node among its stats; here, a metric.
        self.failed_builds = int(report.metrics.get("failed_builds", 0))
        self.service_up = report.service_up
        self.service_disabled = report.service_disabled
        self.total_usable_ram_mb = report.memory_mb
        self.free_ram_mb = report.memory_mb - report.memory_mb_used
        self.total_usable_disk_gb = report.local_gb
        self.free_disk_mb = (report.local_gb - report.local_gb_used) * 1024
        self.vcpus_total = report.vcpus
        self.vcpus_used = report.vcpus_used
        self.cpu_allocation_ratio = report.cpu_allocation_ratio or 1.0
        self.ram_allocation_ratio = report.ram_allocation_ratio or 1.0
        self.disk_allocation_ratio = report.disk_allocation_ratio or 1.0
        self.instances = set(report.instance_uuids)
        self.num_instances = len(self.instances) or report.running_vms
        self.num_io_ops = report.num_io_ops
        # Copies: picks are taken out of them until the next report.
        self.numa_cells = [dataclasses.replace(c) for c in report.numa_cells]
        self.pci_pools = [dataclasses.replace(p) for p in report.pci_pools]
        for uuid, pick in list(self.pending.items()):
            if uuid in self.instances or pick.expires < now:
                del self.pending[uuid]
            else:
                self._take(pick)

    def consume_from_request(
        self,
        spec: RequestSpec,
        instance_uuid: str,
        cells: tuple[CellTake, ...] = (),
        devices: tuple[PoolTake, ...] = (),
    ) -> None:
        """Account for an instance just placed here, until the agent's report includes it;
        `cells` and `devices` are what it takes of the NUMA cells and PCI pools
        (topology_picks.take)."""
        pick = Pending(
            instance_uuid,
            spec.flavor.memory_mb,
            spec.requested_disk_mb(),
            spec.flavor.vcpus,
            time.monotonic() + PENDING_TTL,
            cells,
            devices,
        )
        self.pending[instance_uuid] = pick
        self._take(pick)
        # A build is I/O heavy while it runs (Nova counts it the same way).
        self.num_io_ops += 1

    def release(self, instance_uuid: str) -> None:
        """Undo consume_from_request (a claim that was given back). Idempotent."""
        pick = self.pending.pop(instance_uuid, None)
        if pick is None:
            return
        self.free_ram_mb += pick.memory_mb
        self.free_disk_mb += pick.disk_mb
        self.vcpus_used -= pick.vcpus
        self._topology(pick, -1)
        self.instances.discard(instance_uuid)
        self.num_instances -= 1
        self.num_io_ops = max(0, self.num_io_ops - 1)

    def _take(self, pick: Pending) -> None:
        self.free_ram_mb -= pick.memory_mb
        self.free_disk_mb -= pick.disk_mb
        self.vcpus_used += pick.vcpus
        self.instances.add(pick.instance_uuid)
        self.num_instances += 1
        self._topology(pick, 1)

    def _topology(self, pick: Pending, sign: int) -> None:
        for t in pick.cells:
            for cell in self.numa_cells:
                if cell.id == t.cell:
                    cell.cpu_usage += sign * t.cpus
                    cell.memory_usage += sign * t.memory_mb
        for d in pick.devices:
            key = (d.vendor_id, d.product_id, d.numa_node)
            for pool in self.pci_pools:
                if (pool.vendor_id.lower(), pool.product_id.lower(), pool.numa_node) == key:
                    pool.count = max(0, pool.count - sign * d.count)
                    break


def _parse_cpu_info(raw: str) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class HostStateStore:
    """Every known compute node by uuid (= its placement root provider)."""

    def __init__(self) -> None:
        self._by_uuid: dict[str, HostState] = {}
        self._by_host: dict[str, list[HostState]] = {}
        self.aggregates_by_host: dict[str, list[Aggregate]] = {}
        self.aggregates: list[Aggregate] = []

    def __len__(self) -> int:
        return len(self._by_uuid)

    def __iter__(self) -> Iterator[HostState]:
        return iter(self._by_uuid.values())

    def __contains__(self, uuid: object) -> bool:
        return uuid in self._by_uuid

    def get(self, uuid: str) -> HostState | None:
        return self._by_uuid.get(uuid)

    def by_host(self, host: str) -> list[HostState]:
        return self._by_host.get(host, [])

    def update(self, report: HostReport, now: float | None = None) -> HostState:
        state = self._by_uuid.get(report.uuid)
        if state is None:
            state = HostState(uuid=report.uuid, host=report.host)
            self._by_uuid[report.uuid] = state
        elif state.host != report.host:
            self._unindex(state)
        state.apply(report, time.monotonic() if now is None else now)
        nodes = self._by_host.setdefault(state.host, [])
        if state not in nodes:
            nodes.append(state)
        state.aggregates = self.aggregates_by_host.get(state.host, [])
        return state

    def remove(self, uuid: str) -> None:
        state = self._by_uuid.pop(uuid, None)
        if state is not None:
            self._unindex(state)

    def set_aggregates(self, aggregates: Iterable[Aggregate]) -> None:
        self.aggregates = list(aggregates)
        by_host: dict[str, list[Aggregate]] = {}
        for agg in self.aggregates:
            for host in agg.hosts:
                by_host.setdefault(host, []).append(agg)
        self.aggregates_by_host = by_host
        for state in self._by_uuid.values():
            state.aggregates = by_host.get(state.host, [])

    def _unindex(self, state: HostState) -> None:
        nodes = self._by_host.get(state.host, [])
        if state in nodes:
            nodes.remove(state)
        if not nodes:
            self._by_host.pop(state.host, None)
