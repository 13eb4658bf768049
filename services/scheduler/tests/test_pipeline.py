"""The pipeline against the in-memory placement and a host view fed directly."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import uuid

import pytest
from novamesh.common.config import SchedulerConfig
from novamesh.scheduler.explain import NoValidHost
from novamesh.scheduler.fakes import FakePlacement, host_report, simulated_cloud
from novamesh.scheduler.host_state import HostStateStore
from novamesh.scheduler.pipeline import Scheduler
from novamesh.scheduler.spec import Flavor, InstanceGroup, RequestSpec


def make(
    count: int = 4, delay: float = 0.0, **cfg_overrides: object
) -> tuple[Scheduler, HostStateStore, FakePlacement]:
    store = HostStateStore()
    placement = FakePlacement(delay=delay)
    simulated_cloud(count, store, placement)
    cfg = dataclasses.replace(SchedulerConfig(), **cfg_overrides)  # type: ignore[arg-type]
    return Scheduler(cfg, store, placement, rng=random.Random(1)), store, placement


def spec(memory_mb: int = 2048, vcpus: int = 2, **kw: object) -> RequestSpec:
    flavor = Flavor(id="1", name="m1.small", vcpus=vcpus, memory_mb=memory_mb, root_gb=20)
    return RequestSpec(project_id="p1", user_id="u1", flavor=flavor, **kw)  # type: ignore[arg-type]


def uuids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


async def test_boot_claims_the_chosen_host_and_returns_alternates() -> None:
    sched, _, placement = make(4)
    [inst] = uuids(1)
    [placed] = await sched.select_destinations(spec(), [inst], return_alternates=True)
    assert placement.consumers[inst] == {
        placed.chosen.host.uuid: {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 20}
    }
    # max_attempts 3: the chosen host plus two alternates, none of them claimed.
    assert len(placed.alternates) == 2
    assert placed.chosen.host not in [a.host for a in placed.alternates]
    assert len(placement.consumers) == 1


async def test_instances_of_one_request_spread_because_picks_are_consumed() -> None:
    sched, _, _ = make(4)
    placed = await sched.select_destinations(spec(), uuids(4), return_alternates=False)
    assert len({p.chosen.host.host for p in placed}) == 4


async def test_no_host_explains_which_filter_removed_how_many() -> None:
    sched, store, _ = make(10)
    for i in range(3):
        store.update(host_report(i, zone="az2", service_disabled=True))
    for i in range(3, 5):
        store.update(host_report(i, service_up=False))
    with pytest.raises(NoValidHost) as err:
        await sched.select_destinations(spec(availability_zone="az2"), uuids(1), False)
    assert err.value.message == (
        "No valid host was found. 10 candidates from placement; "
        "ComputeFilter removed 5, AvailabilityZoneFilter removed 5"
    )


async def test_placement_with_no_candidates_names_the_resources() -> None:
    sched, _, _ = make(2)
    with pytest.raises(NoValidHost) as err:
        await sched.select_destinations(spec(memory_mb=10**6), uuids(1), False)
    assert "0 candidates from placement" in err.value.message
    assert "MEMORY_MB=1000000" in err.value.message


async def test_failed_instance_releases_the_claims_of_the_others() -> None:
    sched, _, placement = make(3, enabled_filters=["ServerGroupAntiAffinityFilter"])
    group = InstanceGroup(uuid="g1", policy="anti-affinity")
    with pytest.raises(NoValidHost) as err:
        await sched.select_destinations(spec(instance_group=group), uuids(4), False)
    assert "(for instance 4 of 4)" in err.value.message
    assert placement.consumers == {}
    assert all(not p.used.get("VCPU") for p in placement.providers.values())


async def test_lost_claim_moves_on_to_the_next_host() -> None:
    sched, _, placement = make(3)
    [inst] = uuids(1)
    placement.refuse_next.add(inst)
    [placed] = await sched.select_destinations(spec(), [inst], False)
    assert placement.refused == 1
    assert inst in placement.consumers
    assert placed.chosen.host.uuid in placement.consumers[inst]


async def test_twenty_parallel_boots_into_one_anti_affinity_group() -> None:
    # Placement answers slowly, so the twenty requests interleave at every await.
    sched, _, placement = make(25, delay=0.002)
    instances = uuids(20)

    async def boot(inst: str) -> str:
        group = InstanceGroup(uuid="grp", policy="anti-affinity")
        [placed] = await sched.select_destinations(spec(instance_group=group), [inst], False)
        return placed.chosen.host.host

    hosts = await asyncio.gather(*(boot(i) for i in instances))
    assert len(set(hosts)) == 20
    assert len(placement.consumers) == 20


async def test_anti_affinity_rule_allows_max_server_per_host() -> None:
    sched, _, _ = make(2, enabled_filters=["ServerGroupAntiAffinityFilter"])
    group = InstanceGroup(uuid="g2", policy="anti-affinity", rules={"max_server_per_host": "2"})
    placed = await sched.select_destinations(spec(instance_group=group), uuids(4), False)
    hosts = [p.chosen.host.host for p in placed]
    assert sorted(hosts.count(h) for h in set(hosts)) == [2, 2]


async def test_affinity_puts_every_instance_on_the_first_host() -> None:
    sched, _, _ = make(5)
    group = InstanceGroup(uuid="g3", policy="affinity")
    placed = await sched.select_destinations(spec(instance_group=group), uuids(3), False)
    assert len({p.chosen.host.host for p in placed}) == 1


async def test_forced_host_skips_filters_and_ignored_hosts_are_skipped() -> None:
    sched, store, _ = make(4)
    store.update(host_report(2, service_disabled=True))
    [placed] = await sched.select_destinations(spec(force_hosts=["host2"]), uuids(1), False)
    assert placed.chosen.host.host == "host2"
    [placed] = await sched.select_destinations(
        spec(ignore_hosts=["host0", "host1"], availability_zone="nova:host3"), uuids(1), False
    )
    assert placed.chosen.host.host == "host3"


async def test_candidates_the_feed_does_not_know_are_counted() -> None:
    sched, store, _ = make(3)
    store.remove(host_report(0).uuid)
    store.remove(host_report(1).uuid)
    store.remove(host_report(2).uuid)
    with pytest.raises(NoValidHost) as err:
        await sched.select_destinations(spec(), uuids(1), False)
    assert "3 candidates from placement; 3 unknown to the scheduler" in err.value.message


async def test_alternates_stay_in_the_chosen_hosts_cell() -> None:
    sched, store, _ = make(6)
    for i in range(3, 6):
        store.update(host_report(i, cell_uuid="cell2"))
    [placed] = await sched.select_destinations(spec(), uuids(1), True)
    cell = placed.chosen.host.cell_uuid
    assert placed.alternates
    assert all(a.host.cell_uuid == cell for a in placed.alternates)


async def test_parallel_boots_into_one_affinity_group_share_a_host() -> None:
    sched, _, _ = make(10, delay=0.002)

    async def boot(inst: str) -> str:
        group = InstanceGroup(uuid="aff", policy="affinity")
        [placed] = await sched.select_destinations(spec(instance_group=group), [inst], False)
        return placed.chosen.host.host

    hosts = await asyncio.gather(*(boot(i) for i in uuids(5)))
    assert len(set(hosts)) == 1


async def test_a_scheduler_started_before_its_feed_waits_for_it() -> None:
    store = HostStateStore()
    placement = FakePlacement()
    reports = simulated_cloud(2, store, placement)
    for r in reports:
        store.remove(r.uuid)
    ready = asyncio.Event()
    sched = Scheduler(SchedulerConfig(), store, placement, view_ready=ready, view_wait=5)

    async def feed_arrives() -> None:
        await asyncio.sleep(0.05)
        for r in reports:
            store.update(r)
        ready.set()

    task = asyncio.create_task(feed_arrives())
    [placed] = await sched.select_destinations(spec(), uuids(1), False)
    await task
    assert placed.chosen.host.host in {"host0", "host1"}


async def test_the_wait_for_the_feed_is_bounded() -> None:
    store = HostStateStore()
    placement = FakePlacement()
    for r in simulated_cloud(2, store, placement):
        store.remove(r.uuid)
    sched = Scheduler(
        SchedulerConfig(), store, placement, view_ready=asyncio.Event(), view_wait=0.05
    )
    with pytest.raises(NoValidHost, match="2 unknown to the scheduler"):
        await sched.select_destinations(spec(), uuids(1), False)
