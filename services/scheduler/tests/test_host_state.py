"""The host-state view: reports, picks consumed before agents report them, and the store."""

from __future__ import annotations

from novamesh.scheduler.fakes import aggregate, host_report
from novamesh.scheduler.host_state import PENDING_TTL, HostStateStore
from novamesh.scheduler.spec import Flavor, RequestSpec

SPEC = RequestSpec(flavor=Flavor(vcpus=2, memory_mb=1024, root_gb=10, swap=512))


def test_consume_then_a_report_without_the_instance_keeps_the_pick() -> None:
    store = HostStateStore()
    host = store.update(host_report(0), now=0.0)
    host.consume_from_request(SPEC, "i1")
    assert host.free_ram_mb == 32768 - 1024
    assert host.free_disk_mb == 500 * 1024 - (10 * 1024 + 512)
    assert host.vcpus_used == 2
    assert host.num_instances == 1
    assert host.num_io_ops == 1
    # The agent reports before it knows of i1: the pick still counts.
    store.update(host_report(0), now=1.0)
    assert host.free_ram_mb == 32768 - 1024
    assert "i1" in host.instances
    # The agent's report now includes i1 (and its memory): the pick is no longer added on top.
    store.update(host_report(0, memory_mb_used=1024, instance_uuids=["i1"]), now=2.0)
    assert host.free_ram_mb == 32768 - 1024
    assert host.pending == {}


def test_picks_expire_and_release_is_idempotent() -> None:
    store = HostStateStore()
    host = store.update(host_report(0), now=0.0)
    host.consume_from_request(SPEC, "i1")
    host.release("i1")
    host.release("i1")
    assert host.free_ram_mb == 32768
    assert host.num_instances == 0
    host.consume_from_request(SPEC, "i2")
    store.update(host_report(0), now=host.pending["i2"].expires + 1)
    assert host.free_ram_mb == 32768
    assert PENDING_TTL > 0


def test_store_indexes_by_host_and_applies_aggregates() -> None:
    store = HostStateStore()
    store.update(host_report(0))
    store.update(host_report(1))
    store.set_aggregates([aggregate("a", hosts=["host1"], availability_zone="az1")])
    assert store.by_host("host1")[0].aggregates[0].availability_zone == "az1"
    assert store.by_host("host0")[0].aggregates == []
    # A host that arrives later still gets its aggregates.
    store.remove(host_report(1).uuid)
    assert store.by_host("host1") == []
    assert store.update(host_report(1)).aggregates[0].name == "a"
    assert len(store) == 2


def test_failed_builds_come_from_the_metric() -> None:
    store = HostStateStore()
    host = store.update(host_report(0, metrics={"failed_builds": 2.0}))
    assert host.failed_builds == 2
