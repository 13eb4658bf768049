"""A selection names the chosen host's zone, so an instance that asked for none gets it."""

from __future__ import annotations

import random
import uuid

from novamesh.common.config import SchedulerConfig
from novamesh.scheduler.convert import response_to_proto
from novamesh.scheduler.fakes import FakePlacement, aggregate, simulated_cloud
from novamesh.scheduler.host_state import HostStateStore
from novamesh.scheduler.pipeline import Scheduler
from novamesh.scheduler.spec import Flavor, RequestSpec


async def test_selection_carries_the_host_zone() -> None:
    store = HostStateStore()
    placement = FakePlacement()
    simulated_cloud(2, store, placement)
    store.set_aggregates([aggregate("z", ["host0"], availability_zone="az1")])
    sched = Scheduler(SchedulerConfig(), store, placement, rng=random.Random(0))
    flavor = Flavor(vcpus=1, memory_mb=256, root_gb=1)
    spec = RequestSpec(project_id="p", user_id="u", flavor=flavor)
    placed = await sched.select_destinations(spec, [str(uuid.uuid4())], True)
    [result] = response_to_proto(placed).results
    zones = {s.host: s.availability_zone for s in result.selections}
    assert zones == {"host0": "az1", "host1": "nova"}
