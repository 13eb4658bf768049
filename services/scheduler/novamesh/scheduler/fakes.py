"""An in-memory placement for tests and the benchmark: root providers only, atomic claims.

It honours what the scheduler sends (resources of every group summed onto the root provider,
required/forbidden traits, member_of, in_tree, limit) and refuses a claim that exceeds capacity
or names an existing consumer, as the real placement does.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from novamesh.scheduler.aggregates import Aggregate
from novamesh.scheduler.host_state import HostReport, HostState, HostStateStore
from novamesh.scheduler.resources import Candidate, ResourceRequest


@dataclass(slots=True)
class FakeProvider:
    uuid: str
    # resource class -> usable capacity ((total - reserved) * allocation ratio)
    capacity: dict[str, int]
    used: dict[str, int] = field(default_factory=dict)
    traits: set[str] = field(default_factory=set)
    aggregates: set[str] = field(default_factory=set)


class FakePlacement:
    def __init__(self, delay: float = 0.0, rng: random.Random | None = None) -> None:
        self.providers: dict[str, FakeProvider] = {}
        self._order: list[FakeProvider] = []
        self.consumers: dict[str, dict[str, dict[str, int]]] = {}
        self.delay = delay
        self.rng = rng or random.Random(0)
        self.claims = 0
        self.refused = 0
        # Consumers whose next claim is refused once (simulates a lost race).
        self.refuse_next: set[str] = set()

    def add(self, provider: FakeProvider) -> None:
        self.providers[provider.uuid] = provider
        self._order.append(provider)

    def _fits(self, p: FakeProvider, wanted: dict[str, int]) -> bool:
        for rc, amount in wanted.items():
            if p.capacity.get(rc, 0) - p.used.get(rc, 0) < amount:
                return False
        return True

    async def candidates(self, request: ResourceRequest) -> list[Candidate]:
        if self.delay:
            await asyncio.sleep(self.delay)
        wanted: dict[str, int] = {}
        required: set[str] = set()
        forbidden: set[str] = set()
        member_of: list[list[str]] = []
        in_tree = ""
        for group in request.groups:
            for rc, n in group.resources.items():
                wanted[rc] = wanted.get(rc, 0) + n
            required |= group.required_traits
            forbidden |= group.forbidden_traits
            member_of += group.member_of
            in_tree = in_tree or group.in_tree
        pool = [self.providers[in_tree]] if in_tree in self.providers else self._order
        n = len(pool)
        start = self.rng.randrange(n) if n else 0
        limit = request.limit or n
        items = list(wanted.items())
        out = []
        # The scan is inlined (no helper calls): the benchmark runs it for every request.
        for i in range(n):
            p = pool[(start + i) % n]
            cap = p.capacity
            used = p.used
            fits = True
            for rc, amount in items:
                if cap.get(rc, 0) - used.get(rc, 0) < amount:
                    fits = False
                    break
            if not fits:
                continue
            if required and not required <= p.traits:
                continue
            if forbidden and not forbidden.isdisjoint(p.traits):
                continue
            if member_of and not all(p.aggregates & set(any_of) for any_of in member_of):
                continue
            out.append(Candidate(p.uuid, {p.uuid: wanted}))
            if len(out) >= limit:
                break
        return out

    async def claim(
        self,
        consumer_uuid: str,
        allocations: dict[str, dict[str, int]],
        project_id: str,
        user_id: str,
    ) -> bool:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.claims += 1
        if consumer_uuid in self.refuse_next:
            self.refuse_next.discard(consumer_uuid)
            self.refused += 1
            return False
        if consumer_uuid in self.consumers:
            self.refused += 1
            return False
        for rp, res in allocations.items():
            provider = self.providers.get(rp)
            if provider is None or not self._fits(provider, res):
                self.refused += 1
                return False
        for rp, res in allocations.items():
            used = self.providers[rp].used
            for rc, amount in res.items():
                used[rc] = used.get(rc, 0) + amount
        self.consumers[consumer_uuid] = allocations
        return True

    async def release(self, consumer_uuid: str) -> None:
        allocations = self.consumers.pop(consumer_uuid, None)
        for rp, res in (allocations or {}).items():
            used = self.providers[rp].used
            for rc, amount in res.items():
                used[rc] -= amount


def host_report(
    index: int,
    *,
    cell_uuid: str = "cell1",
    vcpus: int = 16,
    memory_mb: int = 32768,
    local_gb: int = 500,
    zone: str = "nova",
    **overrides: object,
) -> HostReport:
    """A simulated compute node `host<index>` with a stable uuid."""
    report = HostReport(
        uuid=f"00000000-0000-4000-8000-{index:012d}",
        host=f"host{index}",
        nodename=f"host{index}",
        cell_uuid=cell_uuid,
        hypervisor_type="QEMU",
        hypervisor_version=8002000,
        vcpus=vcpus,
        memory_mb=memory_mb,
        local_gb=local_gb,
        cpu_allocation_ratio=4.0,
        ram_allocation_ratio=1.0,
        disk_allocation_ratio=1.0,
        availability_zone=zone,
        cpu_info='{"arch": "x86_64", "features": ["aes", "avx", "sse4.2"]}',
    )
    for key, value in overrides.items():
        setattr(report, key, value)
    return report


def provider_for(report: HostReport, traits: set[str] | None = None) -> FakeProvider:
    return FakeProvider(
        uuid=report.uuid,
        capacity={
            "VCPU": int(report.vcpus * report.cpu_allocation_ratio),
            "MEMORY_MB": int(report.memory_mb * report.ram_allocation_ratio),
            "DISK_GB": int(report.local_gb * report.disk_allocation_ratio),
        },
        traits=set(traits or ()),
    )


def simulated_cloud(
    count: int, store: HostStateStore, placement: FakePlacement, **kwargs: object
) -> list[HostReport]:
    reports = [host_report(i, **kwargs) for i in range(count)]  # type: ignore[arg-type]
    for report in reports:
        store.update(report)
        placement.add(provider_for(report))
    return reports


def host_state(
    index: int = 0,
    aggregates: Sequence[Aggregate] = (),
    instances: Sequence[str] = (),
    **overrides: object,
) -> HostState:
    """One host of the simulated cloud as the filters see it (for table tests)."""
    report = host_report(index, **overrides)  # type: ignore[arg-type]
    report.instance_uuids = list(instances)
    state = HostState(uuid=report.uuid, host=report.host)
    state.apply(report, now=0.0)
    state.aggregates = list(aggregates)
    return state


def aggregate(name: str, hosts: Sequence[str] = (), **metadata: str) -> Aggregate:
    return Aggregate(uuid=f"uuid-{name}", name=name, hosts=frozenset(hosts), metadata=metadata)
