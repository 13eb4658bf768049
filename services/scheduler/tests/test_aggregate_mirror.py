"""The aggregate mirror: providers get their host's aggregate uuids, keep foreign ones, and
unchanged hosts cost no placement call."""

from __future__ import annotations

from novamesh.scheduler.aggregate_mirror import AggregateMirror
from novamesh.scheduler.fakes import aggregate, host_report
from novamesh.scheduler.host_state import HostStateStore


class FakeProviders:
    def __init__(self) -> None:
        self.providers: dict[str, tuple[int, set[str]]] = {}
        self.puts = 0
        self.conflict_once = False

    async def get(self, provider_uuid: str) -> tuple[int, set[str]] | None:
        found = self.providers.get(provider_uuid)
        return None if found is None else (found[0], set(found[1]))

    async def put(self, provider_uuid: str, generation: int, aggregates: set[str]) -> bool:
        self.puts += 1
        current, _ = self.providers[provider_uuid]
        if self.conflict_once or generation != current:
            self.conflict_once = False
            self.providers[provider_uuid] = (current + 1, self.providers[provider_uuid][1])
            return False
        self.providers[provider_uuid] = (current + 1, set(aggregates))
        return True


def setup(count: int = 3) -> tuple[HostStateStore, FakeProviders, AggregateMirror]:
    store = HostStateStore()
    fake = FakeProviders()
    for i in range(count):
        report = host_report(i)
        store.update(report)
        fake.providers[report.uuid] = (0, set())
    return store, fake, AggregateMirror(store, fake)


async def test_hosts_get_their_aggregates_and_lose_removed_ones() -> None:
    store, fake, mirror = setup()
    az = aggregate("az", ["host0", "host1"], availability_zone="az1")
    tenant = aggregate("t", ["host1"], filter_tenant_id="p1")
    store.set_aggregates([az, tenant])
    assert await mirror.sync() == 2
    uuid = {s.host: s.uuid for s in store}
    assert fake.providers[uuid["host0"]][1] == {az.uuid}
    assert fake.providers[uuid["host1"]][1] == {az.uuid, tenant.uuid}
    assert fake.providers[uuid["host2"]][1] == set()
    puts = fake.puts
    assert await mirror.sync() == 0 and fake.puts == puts  # nothing changed: no calls
    store.set_aggregates([aggregate("az", ["host0"], availability_zone="az1")])
    assert await mirror.sync() == 1
    assert fake.providers[uuid["host1"]][1] == set()


async def test_foreign_aggregates_are_kept_and_conflicts_retried() -> None:
    store, fake, mirror = setup(1)
    [state] = list(store)
    fake.providers[state.uuid] = (5, {"set-by-an-operator"})
    fake.conflict_once = True
    store.set_aggregates([aggregate("a", ["host0"])])
    assert await mirror.sync() == 1
    assert fake.providers[state.uuid][1] == {"set-by-an-operator", "uuid-a"}


async def test_a_provider_not_in_placement_yet_is_retried_next_round() -> None:
    store, fake, mirror = setup(1)
    [state] = list(store)
    del fake.providers[state.uuid]
    store.set_aggregates([aggregate("a", ["host0"])])
    assert await mirror.sync() == 0
    fake.providers[state.uuid] = (0, set())
    assert await mirror.sync() == 1
