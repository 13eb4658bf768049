"""Server groups whose members already run somewhere: the API database names the members, the
host view says where they are."""

from __future__ import annotations

import random
import uuid

import pytest
from novamesh.common.config import SchedulerConfig
from novamesh.scheduler.explain import NoValidHost
from novamesh.scheduler.fakes import FakePlacement, host_report, provider_for
from novamesh.scheduler.host_state import HostStateStore
from novamesh.scheduler.pipeline import Scheduler
from novamesh.scheduler.spec import Flavor, InstanceGroup, RequestSpec


def cloud(running: dict[int, list[str]], count: int = 4) -> Scheduler:
    store = HostStateStore()
    placement = FakePlacement()
    for i in range(count):
        report = host_report(i, instance_uuids=list(running.get(i, [])))
        store.update(report)
        placement.add(provider_for(report))
    return Scheduler(SchedulerConfig(), store, placement, rng=random.Random(3))


def spec(group: InstanceGroup) -> RequestSpec:
    flavor = Flavor(id="1", name="m1", vcpus=1, memory_mb=512, root_gb=1)
    return RequestSpec(project_id="p", user_id="u", flavor=flavor, instance_group=group)


@pytest.mark.parametrize(
    ("policy", "rules", "running", "allowed"),
    [
        # affinity: only where the members are
        ("affinity", {}, {2: ["m1"]}, {"host2"}),
        # anti-affinity: anywhere but where the members are
        ("anti-affinity", {}, {0: ["m1"], 1: ["m2"]}, {"host2", "host3"}),
        # 2.64 rule: two per host, host0 is full, host1 has room
        ("anti-affinity", {"max_server_per_host": "2"}, {0: ["m1", "m2"], 1: ["m3"]}, None),
    ],
)
async def test_existing_members_are_located_from_the_view(
    policy: str, rules: dict[str, str], running: dict[int, list[str]], allowed: set[str] | None
) -> None:
    members = {m for ms in running.values() for m in ms}
    sched = cloud(running)
    seen = set()
    for _ in range(8):
        one = InstanceGroup(uuid="", policy=policy, rules=rules, members=set(members))
        [placed] = await sched.select_destinations(spec(one), [str(uuid.uuid4())], False)
        seen.add(placed.chosen.host.host)
        await sched.placement.release(placed.instance_uuid)
        placed.chosen.host.release(placed.instance_uuid)
    if allowed is not None:
        assert seen <= allowed
    else:
        assert "host0" not in seen


async def test_full_anti_affinity_group_is_no_valid_host() -> None:
    sched = cloud({i: [f"m{i}"] for i in range(4)})
    group = InstanceGroup(uuid="g", policy="anti-affinity", members={f"m{i}" for i in range(4)})
    with pytest.raises(NoValidHost) as err:
        await sched.select_destinations(spec(group), [str(uuid.uuid4())], False)
    assert "ServerGroupAntiAffinityFilter removed 4" in err.value.message
