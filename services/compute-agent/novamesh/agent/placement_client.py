"""Keeps each host's compute node resource provider in placement matching the host.

On start, and whenever a host's inventory changes, the provider is ensured (uuid = the compute
node uuid, name = the nodename), its VCPU / MEMORY_MB / DISK_GB inventory replaced and its traits
set. Placement may start after the agent: failures are retried with backoff until they succeed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

import grpc
from novamesh.agent.resources import HostReport
from novamesh.common import grpcutil
from novamesh.placement.v1 import placement_pb2, placement_pb2_grpc

LOG = logging.getLogger(__name__)

MAX_BACKOFF = 30.0
# How often the hosts' inventories are compared with what placement was last sent.
CHECK_INTERVAL = 60.0
# Re-send everything now and then, so a placement that lost its data heals on its own.
REFRESH_INTERVAL = 300.0
# Generation conflicts (someone else touched the provider) are retried this many times per sync.
CONFLICT_RETRIES = 5


def inventories(report: HostReport) -> dict[str, placement_pb2.Inventory]:
    return {
        "VCPU": placement_pb2.Inventory(
            total=report.vcpus,
            reserved=0,
            min_unit=1,
            max_unit=report.vcpus,
            step_size=1,
            allocation_ratio=report.cpu_allocation_ratio,
        ),
        "MEMORY_MB": placement_pb2.Inventory(
            total=report.memory_mb,
            reserved=report.reserved_host_memory_mb,
            min_unit=1,
            max_unit=report.memory_mb,
            step_size=1,
            allocation_ratio=report.ram_allocation_ratio,
        ),
        "DISK_GB": placement_pb2.Inventory(
            total=report.local_gb,
            reserved=0,
            min_unit=1,
            max_unit=report.local_gb,
            step_size=1,
            allocation_ratio=report.disk_allocation_ratio,
        ),
    }


class PlacementReporter:
    def __init__(
        self,
        target: str,
        reports: Callable[[], Sequence[HostReport]],
        refresh_interval: float = REFRESH_INTERVAL,
        check_interval: float = CHECK_INTERVAL,
        max_backoff: float = MAX_BACKOFF,
    ) -> None:
        self._target = target
        self._reports = reports
        self._refresh_interval = refresh_interval
        self._check_interval = check_interval
        self._max_backoff = max_backoff
        self._synced: dict[str, tuple[object, ...]] = {}
        self._wake = asyncio.Event()
        self.in_sync = asyncio.Event()

    def inventory_changed(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        channel = grpcutil.channel(self._target)
        stub = placement_pb2_grpc.PlacementServiceStub(channel)
        backoff = 0.2
        loop = asyncio.get_running_loop()
        last_refresh = loop.time()
        try:
            while True:
                self._wake.clear()
                try:
                    await self.sync(stub)
                    backoff = 0.2
                    wait = self._check_interval
                except grpc.aio.AioRpcError as exc:
                    self.in_sync.clear()
                    # Warn at first and then at the cap; the retries between are routine.
                    quiet = 1.0 <= backoff < self._max_backoff
                    LOG.log(
                        logging.DEBUG if quiet else logging.WARNING,
                        "placement sync failed: %s %s (retry in %.1fs)",
                        exc.code().name,
                        exc.details(),
                        backoff,
                    )
                    wait = backoff
                    backoff = min(backoff * 2, self._max_backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                if loop.time() - last_refresh >= self._refresh_interval:
                    # Send everything again, changed or not.
                    self._synced.clear()
                    last_refresh = loop.time()
        finally:
            await channel.close(None)

    async def sync(self, stub: placement_pb2_grpc.PlacementServiceAsyncStub) -> None:
        for report in self._reports():
            key = report.inventory_key()
            if self._synced.get(report.compute_node_uuid) == key:
                continue
            await self._sync_host(stub, report)
            self._synced[report.compute_node_uuid] = key
        self.in_sync.set()

    async def _sync_host(
        self, stub: placement_pb2_grpc.PlacementServiceAsyncStub, report: HostReport
    ) -> None:
        for attempt in range(CONFLICT_RETRIES):
            try:
                await stub.EnsureProvider(
                    placement_pb2.EnsureProviderRequest(
                        uuid=report.compute_node_uuid, name=report.nodename
                    )
                )
                rp = await stub.SetInventories(
                    placement_pb2.SetInventoriesRequest(
                        provider_uuid=report.compute_node_uuid,
                        generation=-1,
                        inventories=inventories(report),
                    )
                )
                await stub.SetProviderTraits(
                    placement_pb2.SetProviderTraitsRequest(
                        provider_uuid=report.compute_node_uuid,
                        generation=rp.generation,
                        traits=list(report.traits),
                    )
                )
                LOG.info(
                    "compute node provider in sync",
                    extra={"fields": {"host": report.host, "uuid": report.compute_node_uuid}},
                )
                return
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.ABORTED or attempt == CONFLICT_RETRIES - 1:
                    raise
                LOG.info("placement generation conflict on %s, retrying", report.host)
