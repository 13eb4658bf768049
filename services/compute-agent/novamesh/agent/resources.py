"""Per-host resource accounting: claims for the guests this agent runs, and the host reports.

Usage is the sum of what the guests were given (as in Nova's resource tracker), so it is the
same for every driver. A claim is checked against the host's capacity the way placement computes
it, `(total - reserved) * allocation_ratio`, so a spawn the host cannot hold is refused early
and the router can reschedule it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from novamesh.agent import identity
from novamesh.agent.claims_journal import ClaimsJournal
from novamesh.agent.host_topology import HostTopology, TopologyAware, with_usage
from novamesh.agent.numa_claims import NumaClaims
from novamesh.agent.pci_claims import PciClaims
from novamesh.agent.virt.driver import Driver, host_traits
from novamesh.agent.virt.model import InstanceInfo, InstanceSpec, InsufficientCapacity


@dataclass(frozen=True)
class Overcommit:
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    reserved_host_memory_mb: int = 512


@dataclass(frozen=True)
class Claim:
    uuid: str
    host: str
    vcpus: int
    memory_mb: int
    disk_gb: int


@dataclass(frozen=True)
class HostReport:
    """A host's capacity and use, as reported to the router and (inventory) to placement."""

    host: str
    nodename: str
    compute_node_uuid: str
    hypervisor_type: str
    hypervisor_version: int
    hypervisor_hostname: str
    vcpus: int
    vcpus_used: int
    memory_mb: int
    memory_mb_used: int
    local_gb: int
    local_gb_used: int
    running_vms: int
    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    disk_allocation_ratio: float
    reserved_host_memory_mb: int
    host_ip: str
    availability_zone: str
    cpu_info: str
    traits: tuple[str, ...] = field(default_factory=tuple)
    # NUMA cells and PCI pools, for drivers that know them.
    topology: HostTopology = field(default_factory=HostTopology)

    def inventory_key(self) -> tuple[object, ...]:
        """What placement needs to know; a change here means the inventory must be re-sent."""
        return (
            self.compute_node_uuid,
            self.nodename,
            self.vcpus,
            self.memory_mb,
            self.local_gb,
            self.cpu_allocation_ratio,
            self.ram_allocation_ratio,
            self.disk_allocation_ratio,
            self.reserved_host_memory_mb,
            self.traits,
        )


class ResourceTracker:
    def __init__(
        self,
        driver: Driver,
        overcommit: Overcommit,
        availability_zone: str,
        pci_aliases: Iterable[str] = (),
        claims_path: Path | None = None,
    ) -> None:
        self._driver = driver
        self._overcommit = overcommit
        self._az = availability_zone
        self._claims: dict[str, Claim] = {}
        # Per host: (vcpus, memory_mb, disk_gb, guests) claimed, kept as running sums because a
        # fake host may hold thousands of guests.
        self._usage: dict[str, tuple[int, int, int, int]] = {}
        self._numa = NumaClaims(overcommit.cpu_allocation_ratio, overcommit.ram_allocation_ratio)
        self._pci = PciClaims(pci_aliases)
        self._journal = ClaimsJournal(claims_path)
        # (host, uuid) of guests evacuated away that still run here until the agent restarts:
        # not counted, and not this host's to report on.
        self._disowned: set[tuple[str, str]] = set()

    def recover(self, guests: list[InstanceInfo]) -> None:
        """Count the guests that were already running when the agent started."""
        saved = self._journal.load()
        for g in guests:
            self._add(Claim(g.uuid, g.host, g.vcpus, g.memory_mb, g.disk_gb))
            # Its NUMA cells, pinned CPUs and PCI devices as it held them before the restart.
            held = saved.get(g.uuid)
            if held is not None and held.host == g.host:
                if held.cells:
                    self._numa.restore(g.uuid, g.host, held.cells)
                if held.devices:
                    self._pci.restore(g.uuid, g.host, held.devices)
        self._journal.save(self._numa, self._pci)

    def claim(self, host: str, instance: InstanceSpec) -> None:
        """Reserve the instance's resources on `host`; a repeated claim for it is a no-op."""
        if instance.uuid in self._claims:
            return
        cap = self._driver.get_host_capacity(host)
        oc = self._overcommit
        used = self._usage.get(host, (0, 0, 0, 0))
        checks = (
            ("vcpu", "VCPU", cap.vcpus * oc.cpu_allocation_ratio, used[0], instance.vcpus),
            (
                "ram",
                "MB",
                (cap.memory_mb - oc.reserved_host_memory_mb) * oc.ram_allocation_ratio,
                used[1],
                instance.memory_mb,
            ),
            ("disk", "GB", cap.local_gb * oc.disk_allocation_ratio, used[2], instance.disk_gb),
        )
        for what, unit, limit, in_use, wanted in checks:
            free = limit - in_use
            if wanted > free:
                raise InsufficientCapacity(
                    f"Insufficient compute resources on {host}: free {what} {free:.2f} {unit} "
                    f"< requested {wanted} {unit}."
                )
        self._add(Claim(instance.uuid, host, instance.vcpus, instance.memory_mb, instance.disk_gb))
        if isinstance(self._driver, TopologyAware):
            topo = self._driver.host_topology(host)
            try:
                self._numa.claim(host, topo, instance)
                cells = self._numa.cells_of(instance.uuid)
                self._pci.claim(host, topo.pci_pools, instance, cells)
            except InsufficientCapacity:
                self.release(instance.uuid)
                raise
            self._journal.save(self._numa, self._pci)

    def release(self, uuid: str) -> str | None:
        """Give back an instance's resources; returns its host, None when it held nothing."""
        self._numa.release(uuid)
        self._pci.release(uuid)
        self._journal.save(self._numa, self._pci)
        claim = self._claims.pop(uuid, None)
        if claim is None:
            return None
        vcpus, memory, disk, guests = self._usage[claim.host]
        self._usage[claim.host] = (
            vcpus - claim.vcpus,
            memory - claim.memory_mb,
            disk - claim.disk_gb,
            guests - 1,
        )
        return claim.host

    def disown(self, host: str, uuid: str) -> bool:
        """Stop counting a guest that now belongs to another host; True when `host` counted
        it. A claim the instance holds on another host of this agent (its new one) stays."""
        self._disowned.add((host, uuid))
        claim = self._claims.get(uuid)
        if claim is None or claim.host != host:
            return False
        self.release(uuid)
        return True

    def disowned(self, host: str, uuid: str) -> bool:
        return (host, uuid) in self._disowned

    def rekey(self, old: str, new: str) -> None:
        """Hold a claim under another name: a move keeps the source's resources under the
        migration's uuid while the instance claims its destination."""
        self._numa.rekey(old, new)
        self._pci.rekey(old, new)
        self._journal.save(self._numa, self._pci)
        claim = self._claims.pop(old, None)
        if claim is not None:
            self._claims[new] = Claim(new, claim.host, claim.vcpus, claim.memory_mb, claim.disk_gb)

    def instances(self, host: str) -> list[str]:
        return [c.uuid for c in self._claims.values() if c.host == host]

    def report(self, host: str) -> HostReport:
        cap = self._driver.get_host_capacity(host)
        oc = self._overcommit
        vcpus_used, memory_used, disk_used, guests = self._usage.get(host, (0, 0, 0, 0))
        return HostReport(
            host=cap.host,
            nodename=cap.nodename,
            compute_node_uuid=identity.compute_node_uuid(cap.nodename),
            hypervisor_type=cap.hypervisor_type,
            hypervisor_version=cap.hypervisor_version,
            hypervisor_hostname=cap.nodename,
            vcpus=cap.vcpus,
            vcpus_used=vcpus_used,
            memory_mb=cap.memory_mb,
            # Nova counts the host's reserved memory as used.
            memory_mb_used=memory_used + oc.reserved_host_memory_mb,
            local_gb=cap.local_gb,
            local_gb_used=disk_used,
            running_vms=guests,
            cpu_allocation_ratio=oc.cpu_allocation_ratio,
            ram_allocation_ratio=oc.ram_allocation_ratio,
            disk_allocation_ratio=oc.disk_allocation_ratio,
            reserved_host_memory_mb=oc.reserved_host_memory_mb,
            host_ip=cap.host_ip,
            availability_zone=self._az,
            cpu_info=cap.cpu_info,
            traits=tuple(host_traits(self._driver, cap)),
            topology=self._topology(host, vcpus_used, memory_used),
        )

    def _topology(self, host: str, vcpus_used: int, memory_used: int) -> HostTopology:
        if not isinstance(self._driver, TopologyAware):
            return HostTopology()
        topo = self._driver.host_topology(host)
        return with_usage(
            topo, vcpus_used, memory_used, self._numa.usage(host), self._pci.usage(host)
        )

    def _add(self, claim: Claim) -> None:
        self.release(claim.uuid)
        # Back on a host that gave it up (evacuated there again): it counts there once more.
        self._disowned.discard((claim.host, claim.uuid))
        self._claims[claim.uuid] = claim
        vcpus, memory, disk, guests = self._usage.get(claim.host, (0, 0, 0, 0))
        self._usage[claim.host] = (
            vcpus + claim.vcpus,
            memory + claim.memory_mb,
            disk + claim.disk_gb,
            guests + 1,
        )
