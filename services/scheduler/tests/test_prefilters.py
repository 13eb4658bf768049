"""Placement pre-filters: zones and tenant isolation become member_of in the query."""

from __future__ import annotations

import dataclasses
import random
import uuid

import pytest
from novamesh.common.config import SchedulerConfig
from novamesh.scheduler.explain import NoValidHost
from novamesh.scheduler.fakes import FakePlacement, aggregate, simulated_cloud
from novamesh.scheduler.host_state import HostStateStore
from novamesh.scheduler.pipeline import Scheduler
from novamesh.scheduler.spec import Flavor, RequestSpec

AZ1 = aggregate("az1agg", hosts=["host0", "host1"], availability_zone="az1")
TENANT = aggregate("private", hosts=["host2"], filter_tenant_id="p-private")


def make(**cfg: object) -> tuple[Scheduler, FakePlacement]:
    store = HostStateStore()
    placement = FakePlacement()
    simulated_cloud(4, store, placement)
    store.set_aggregates([AZ1, TENANT])
    for agg in (AZ1, TENANT):
        for host in agg.hosts:
            placement.providers[store.by_host(host)[0].uuid].aggregates.add(agg.uuid)
    conf = dataclasses.replace(SchedulerConfig(), **cfg)  # type: ignore[arg-type]
    return Scheduler(conf, store, placement, rng=random.Random(0)), placement


def spec(project: str = "p1", zone: str = "") -> RequestSpec:
    flavor = Flavor(vcpus=1, memory_mb=512)
    return RequestSpec(project_id=project, flavor=flavor, availability_zone=zone)


async def test_without_the_zone_prefilter_the_filter_does_the_work() -> None:
    sched, _ = make(enabled_filters=["AvailabilityZoneFilter", "ComputeFilter"])
    sched.hosts.by_host("host0")[0].service_disabled = True
    sched.hosts.by_host("host1")[0].service_disabled = True
    with pytest.raises(NoValidHost) as err:
        await sched.select_destinations(spec(zone="az1"), [str(uuid.uuid4())], False)
    assert err.value.message == (
        "No valid host was found. 4 candidates from placement; "
        "AvailabilityZoneFilter removed 2, ComputeFilter removed 2"
    )


async def test_zone_prefilter_lists_only_zone_hosts() -> None:
    sched, _ = make(query_placement_for_availability_zone=True)
    placed = await sched.select_destinations(
        spec(zone="az1"), [str(uuid.uuid4()) for _ in range(2)], True
    )
    assert {p.chosen.host.host for p in placed} == {"host0", "host1"}
    assert all(a.host.host in {"host0", "host1"} for p in placed for a in p.alternates)


async def test_tenant_prefilter() -> None:
    sched, _ = make(limit_tenants_to_placement_aggregate=True)
    [placed] = await sched.select_destinations(spec(project="p-private"), [str(uuid.uuid4())], True)
    assert placed.chosen.host.host == "host2"
    assert placed.alternates == []
    # Projects no aggregate names are not restricted unless the option says so.
    [placed] = await sched.select_destinations(spec(project="p1"), [str(uuid.uuid4())], True)
    assert len(placed.alternates) == 2


async def test_tenant_prefilter_can_require_an_aggregate() -> None:
    sched, _ = make(
        limit_tenants_to_placement_aggregate=True, placement_aggregate_required_for_tenants=True
    )
    with pytest.raises(NoValidHost, match="Project p1 is in no host aggregate"):
        await sched.select_destinations(spec(project="p1"), [str(uuid.uuid4())], False)
