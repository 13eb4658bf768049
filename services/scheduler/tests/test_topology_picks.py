"""Picks take NUMA cells and PCI devices out of the scheduler's host view until the agent
reports, so the instances of one request (or of concurrent ones) see each other's picks."""

from __future__ import annotations

import dataclasses
import random
import uuid
from typing import Any

import pytest
from novamesh.common.config import SchedulerConfig
from novamesh.scheduler.explain import NoValidHost
from novamesh.scheduler.fakes import FakePlacement, host_report, host_state, simulated_cloud
from novamesh.scheduler.filters.pci_passthrough import parse_aliases
from novamesh.scheduler.host_state import CellTake, HostStateStore, NumaCell, PciPool, PoolTake
from novamesh.scheduler.pipeline import Scheduler
from novamesh.scheduler.spec import Flavor, RequestSpec
from novamesh.scheduler.topology_picks import take

ALIASES = ["gpu:10de:1eb8", "nic:8086:1572"]
GPU = ("10de", "1eb8")


def spec(vcpus: int = 2, memory_mb: int = 1024, extra: dict[str, str] | None = None) -> RequestSpec:
    flavor = Flavor(id="1", name="f", vcpus=vcpus, memory_mb=memory_mb, root_gb=1,
                    extra_specs=extra or {})  # fmt: skip
    return RequestSpec(project_id="p", user_id="u", flavor=flavor)


def topo(cells: int = 2, gpus_per_cell: int = 1) -> dict[str, Any]:
    return {
        "numa_cells": [NumaCell(i, 4, 4096) for i in range(cells)],
        "pci_pools": [PciPool(*GPU, gpus_per_cell, i) for i in range(cells)],
    }


@pytest.mark.parametrize(
    ("request_spec", "cells", "devices"),
    [
        (spec(), (), ()),
        (spec(extra={"hw:numa_nodes": "2"}), (CellTake(0, 1, 512), CellTake(1, 1, 512)), ()),
        (spec(4, extra={"hw:cpu_policy": "dedicated"}), (CellTake(0, 4, 1024),), ()),
        (spec(8, 8192, extra={"hw:numa_nodes": "1"}), (), ()),
        (spec(extra={"pci_passthrough:alias": "gpu:2"}), (),
         (PoolTake(*GPU, 0, 1), PoolTake(*GPU, 1, 1))),
        (spec(extra={"hw:numa_nodes": "1", "pci_passthrough:alias": "nic:1"}),
         (CellTake(0, 2, 1024),), ()),
        (spec(extra={"hw:numa_nodes": "x"}), (), ()),
    ],
)  # fmt: skip
def test_what_a_pick_takes(
    request_spec: RequestSpec, cells: tuple[CellTake, ...], devices: tuple[PoolTake, ...]
) -> None:
    host = host_state(**topo())
    assert take(host, request_spec, parse_aliases(ALIASES)) == (cells, devices)


def test_the_guests_cell_gives_its_devices_first() -> None:
    host = host_state(**topo())
    host.numa_cells[0].memory_usage = 4096  # cell 0 is full: the guest lands on cell 1
    wanted = spec(extra={"hw:numa_nodes": "1", "pci_passthrough:alias": "gpu:1"})
    assert take(host, wanted, parse_aliases(ALIASES)) == (
        (CellTake(1, 2, 1024),),
        (PoolTake(*GPU, 1, 1),),
    )


def test_picks_are_taken_out_until_the_report_has_them_or_they_are_released() -> None:
    host = host_state(**topo())
    wanted = spec(extra={"hw:numa_nodes": "1", "pci_passthrough:alias": "gpu:1"})
    cells, devices = take(host, wanted, parse_aliases(ALIASES))
    host.consume_from_request(wanted, "i-1", cells, devices)
    assert [(c.cpu_usage, c.memory_usage) for c in host.numa_cells] == [(2, 1024), (0, 0)]
    assert [p.count for p in host.pci_pools] == [0, 1]
    # A report without the instance: the pick stays on top of it.
    host.apply(host_report(0, **topo()), now=0.0)
    assert [p.count for p in host.pci_pools] == [0, 1]
    host.release("i-1")
    assert [p.count for p in host.pci_pools] == [1, 1]
    assert host.numa_cells[0].cpu_usage == 0
    # A report that has the instance counts it itself.
    host.consume_from_request(wanted, "i-2", cells, devices)
    report = host_report(0, **topo())
    report.instance_uuids = ["i-2"]
    host.apply(report, now=0.0)
    assert [p.count for p in host.pci_pools] == [1, 1]


def scheduler(hosts: int, filters: str) -> Scheduler:
    store = HostStateStore()
    placement = FakePlacement()
    simulated_cloud(hosts, store, placement, **topo())
    cfg = dataclasses.replace(SchedulerConfig(), enabled_filters=filters.split(","),
                              pci_alias=ALIASES)  # fmt: skip
    return Scheduler(cfg, store, placement, rng=random.Random(1))


def uuids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


@pytest.mark.parametrize(
    ("filters", "extra", "fit"),
    [
        # Two hosts of two GPUs each: four one-GPU guests fit, a fifth does not.
        ("PciPassthroughFilter", {"pci_passthrough:alias": "gpu:1"}, 4),
        ("PciPassthroughFilter", {"pci_passthrough:alias": "gpu:2"}, 2),
        # Two hosts of two 4 GiB cells: four guests of a 4 GiB cell, no fifth (placement
        # would still have room: the cells decide).
        ("NUMATopologyFilter", {"hw:numa_nodes": "1"}, 4),
        ("NUMATopologyFilter", {"hw:numa_nodes": "2"}, 2),
    ],
)
async def test_one_request_sees_its_earlier_picks(
    filters: str, extra: dict[str, str], fit: int
) -> None:
    sched = scheduler(2, filters)
    wanted = spec(4, 4096 * int(extra.get("hw:numa_nodes", "0")) or 1024, extra=extra)
    placed = await sched.select_destinations(wanted, uuids(fit), return_alternates=False)
    assert len(placed) == fit
    with pytest.raises(NoValidHost) as err:
        await sched.select_destinations(wanted, uuids(1), return_alternates=False)
    assert filters in err.value.message
