"""Placement reporting against a fake placement: one provider per host, inventory and traits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from novamesh.agent import identity
from novamesh.agent.placement_client import PlacementReporter
from novamesh.agent.resources import Overcommit, ResourceTracker
from novamesh.agent.virt.fake import FakeDriver, FakeSettings


def tracker(vcpus: int = 8) -> ResourceTracker:
    driver = FakeDriver(FakeSettings(hosts=("n-1", "n-2"), vcpus=vcpus, memory_mb=8192, disk_gb=80))
    return ResourceTracker(
        driver,
        Overcommit(
            cpu_allocation_ratio=16.0, ram_allocation_ratio=1.5, reserved_host_memory_mb=256
        ),
        "nova",
    )


@dataclass
class Running:
    placement: Any
    reporter: PlacementReporter
    # The tracker the reporter reads; replace it to simulate a host whose size changed.
    tracker: ResourceTracker


@pytest.fixture
async def running(placement: Any) -> AsyncIterator[Running]:
    state = Running(placement, PlacementReporter(placement.target, lambda: []), tracker())
    state.reporter = PlacementReporter(
        placement.target, lambda: [state.tracker.report(h) for h in ("n-1", "n-2")]
    )
    task = asyncio.create_task(state.reporter.run())
    async with asyncio.timeout(5):
        await state.reporter.in_sync.wait()
    yield state
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_each_host_gets_a_provider_with_inventory_and_traits(running: Running) -> None:
    providers = running.placement.servicer.providers
    uuid = identity.compute_node_uuid("n-1")
    assert set(providers) == {uuid, identity.compute_node_uuid("n-2")}
    rp = providers[uuid]
    assert rp.name == "n-1"
    vcpu, mem, disk = (rp.inventories[rc] for rc in ("VCPU", "MEMORY_MB", "DISK_GB"))
    assert (vcpu.total, vcpu.allocation_ratio, vcpu.max_unit) == (8, 16.0, 8)
    assert (mem.total, mem.reserved, mem.allocation_ratio) == (8192, 256, 1.5)
    assert (disk.total, disk.allocation_ratio) == (80, 1.0)
    assert "COMPUTE_NODE" in rp.traits
    assert "COMPUTE_IMAGE_TYPE_RAW" in rp.traits


async def test_an_unchanged_inventory_is_not_sent_again_a_changed_one_is(
    running: Running,
) -> None:
    fake = running.placement.servicer
    calls = len(fake.calls)
    running.reporter.inventory_changed()
    await asyncio.sleep(0.1)
    assert len(fake.calls) == calls
    running.tracker = tracker(vcpus=12)
    running.reporter.in_sync.clear()
    running.reporter.inventory_changed()
    async with asyncio.timeout(5):
        await running.reporter.in_sync.wait()
    assert fake.providers[identity.compute_node_uuid("n-2")].inventories["VCPU"].total == 12


async def test_the_node_uuid_is_stable() -> None:
    assert identity.compute_node_uuid("n-1") == identity.compute_node_uuid("n-1")
    assert identity.compute_node_uuid("n-1") != identity.compute_node_uuid("n-2")
    assert identity.agent_id(["b", "a"]) == identity.agent_id(["a", "b"])


async def test_placement_down_at_start_is_retried(placement: Any) -> None:
    placement.servicer.fail_next = 2
    t = tracker()
    reporter = PlacementReporter(placement.target, lambda: [t.report("n-1")])
    task = asyncio.create_task(reporter.run())
    try:
        async with asyncio.timeout(5):
            await reporter.in_sync.wait()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert identity.compute_node_uuid("n-1") in placement.servicer.providers
