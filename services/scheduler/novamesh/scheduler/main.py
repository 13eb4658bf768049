"""novamesh-scheduler: SchedulerService on cfg.endpoints.scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import gc

from novamesh.common import config as config_mod
from novamesh.common import db, grpcutil, service
from novamesh.scheduler.aggregate_mirror import AggregateMirror
from novamesh.scheduler.aggregate_source import AggregateSource
from novamesh.scheduler.grpc_placement import GrpcPlacement, GrpcProviderAggregates
from novamesh.scheduler.host_feed import HostFeed
from novamesh.scheduler.host_state import HostStateStore
from novamesh.scheduler.pipeline import Scheduler
from novamesh.scheduler.servicer import SchedulerServicer
from novamesh.scheduler.v1 import scheduler_pb2, scheduler_pb2_grpc

# Seconds after the host-state stream connects by which its snapshot is surely applied.
SNAPSHOT_SETTLE = 5.0


async def build(cfg: config_mod.Config) -> service.ServiceSpec:
    store = HostStateStore()
    placement_channel = grpcutil.channel(cfg.endpoints.placement)
    router_channel = grpcutil.channel(cfg.endpoints.router)
    feed = HostFeed(router_channel, store)
    scheduler = Scheduler(
        cfg.scheduler, store, GrpcPlacement(placement_channel), view_ready=feed.synced
    )
    servicer = SchedulerServicer(scheduler)
    api_engine = db.create_async_engine(cfg.expand(cfg.database.api_url))
    mirror = AggregateMirror(store, GrpcProviderAggregates(placement_channel))
    aggregates = AggregateSource(
        db.sessionmaker(api_engine),
        store,
        cfg.scheduler.aggregate_refresh_interval,
        on_refresh=mirror.sync,
    )
    tasks: list[asyncio.Task[None]] = []

    async def freeze_after_snapshot() -> None:
        # Once the snapshot is in, the host states live as long as the process: keeping them
        # out of every garbage collection removes the long tail of scheduling latency.
        await feed.connected.wait()
        await asyncio.sleep(SNAPSHOT_SETTLE)
        gc.collect()
        gc.freeze()

    async def on_start() -> None:
        tasks.append(asyncio.create_task(feed.run(), name="host-feed"))
        tasks.append(asyncio.create_task(aggregates.run(), name="aggregates"))
        tasks.append(asyncio.create_task(freeze_after_snapshot(), name="gc-freeze"))

    async def on_stop() -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await placement_channel.close(None)
        await router_channel.close(None)
        await api_engine.dispose()

    return service.ServiceSpec(
        listen=cfg.endpoints.scheduler,
        registrars=[
            lambda server: scheduler_pb2_grpc.add_SchedulerServiceServicer_to_server(
                servicer, server
            )
        ],
        service_names=[scheduler_pb2.DESCRIPTOR.services_by_name["SchedulerService"].full_name],
        on_start=on_start,
        on_stop=on_stop,
        extra={"scheduler": scheduler, "store": store, "feed": feed, "aggregates": aggregates},
    )


def main() -> None:
    service.run("scheduler", build)
