"""The router assembled from its parts: what `main` serves and what the tests start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import grpc
from novamesh.cells.actions_servicer import ActionsServicer, attach_actions
from novamesh.cells.agents import AgentHub
from novamesh.cells.apistore import ApiStore
from novamesh.cells.bus import SharedBus
from novamesh.cells.channel import Channel
from novamesh.cells.conductor import Conductor
from novamesh.cells.control_services import ControlServices, health_probe
from novamesh.cells.core import Core
from novamesh.cells.edits import Edits
from novamesh.cells.hoststates import HostStates
from novamesh.cells.lifecycle import Lifecycle
from novamesh.cells.mappings import Mappings, make_cache
from novamesh.cells.reader import Reader
from novamesh.cells.registry import CellRegistry, UnknownCell
from novamesh.cells.relay import Relay
from novamesh.cells.servicer import RouterServicer
from novamesh.cells.services import Services
from novamesh.cells.services_servicer import ServicesServicer
from novamesh.cells.v1 import router_pb2
from novamesh.common import grpcutil
from novamesh.common.config import Config
from novamesh.common.db import create_async_engine, sessionmaker
from novamesh.common.redisstore import Store, open_store
from novamesh.placement.v1 import placement_pb2_grpc
from novamesh.scheduler.v1 import scheduler_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine

LOG = logging.getLogger(__name__)


@dataclass
class RouterApp:
    cfg: Config
    api_engine: AsyncEngine
    core: Core
    servicer: RouterServicer
    host_states: HostStates
    store: Store
    services: ServicesServicer
    _channels: list[grpc.aio.Channel] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _relays: list[asyncio.Task[None]] = field(default_factory=list)
    # CellsActionsService (resize, migrate, console log, migration and action records).
    actions: ActionsServicer | None = None

    @classmethod
    def create(cls, cfg: Config, build_timeout: float = 600.0) -> RouterApp:
        api_engine = create_async_engine(cfg.expand(cfg.database.api_url))
        api = ApiStore(sessionmaker(api_engine))
        registry = CellRegistry(api.sessions, cfg.cells.cell)
        registry.serve(f"grpc://{cfg.endpoints.router}")
        replica = f"router-{cfg.endpoints.router}"
        store = open_store(cfg.redis.url, consumer=replica)
        # Replicas sharing a Redis reach each other's agents through it.
        relay = Relay(store.pubsub, replica) if store.durable else None
        core = Core(
            registry=registry,
            api=api,
            mappings=Mappings(api, make_cache(store)),
            hub=AgentHub(cfg.agent.heartbeat_interval, log=store.commands, relay=relay),
            heartbeat_interval=cfg.agent.heartbeat_interval,
            list_timeout=cfg.cells.list_timeout,
        )
        if store.durable:
            # Watchers and schedulers connected to any replica see every replica's events.
            core.instance_events = SharedBus(
                store.pubsub,
                "novamesh:instance-events",
                router_pb2.InstanceEvent.SerializeToString,
                router_pb2.InstanceEvent.FromString,
            )
            core.host_events = SharedBus(
                store.pubsub,
                "novamesh:host-states",
                router_pb2.HostStateUpdate.SerializeToString,
                router_pb2.HostStateUpdate.FromString,
            )
        scheduler_channel = grpcutil.channel(cfg.endpoints.scheduler)
        placement_channel = grpcutil.channel(cfg.endpoints.placement)
        placement = placement_pb2_grpc.PlacementServiceStub(placement_channel)
        host_states = HostStates(core)
        conductor = Conductor(
            core,
            host_states,
            scheduler_pb2_grpc.SchedulerServiceStub(scheduler_channel),
            placement,
            cfg.scheduler.max_attempts,
            build_timeout,
        )
        lifecycle = Lifecycle(core, host_states, placement)
        actions = attach_actions(lifecycle, core, host_states, scheduler_channel, placement)
        servicer = RouterServicer(
            core,
            Channel(core, host_states, store.heartbeats),
            host_states,
            conductor,
            lifecycle,
            Reader(core),
            Edits(core),
        )
        app = cls(
            cfg,
            api_engine,
            core,
            servicer,
            host_states,
            store,
            ServicesServicer(Services(core, store.heartbeats, host_states.changed)),
            [scheduler_channel, placement_channel],
        )
        app.actions = actions
        return app

    async def start(self) -> None:
        registry = self.core.registry
        await registry.refresh()
        registry.start(self.cfg.cells.refresh_interval)
        relay = self.core.hub.relay
        if relay is not None:
            self._relays.append(asyncio.create_task(relay.run(self.core.hub)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(relay.listening.wait(), 2.0)
        await self.core.hub.recover()
        for bus in (self.core.instance_events, self.core.host_events):
            if isinstance(bus, SharedBus):
                self._relays.append(asyncio.create_task(bus.relay()))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(bus.listening.wait(), 2.0)
        if self.cfg.cells.discover_hosts_interval > 0:
            self._tasks.append(asyncio.create_task(self._discover_hosts()))
        with contextlib.suppress(UnknownCell):
            _ = registry.local
            # Agents of any cell may attach here, so watch every cell's hosts.
            self._tasks.append(asyncio.create_task(self.host_states.watch_liveness(None)))
        # nova-conductor and nova-scheduler rows for os-services (see control_services).
        scheduler = grpcutil.channel(self.cfg.endpoints.scheduler)
        self._channels.append(scheduler)
        control = ControlServices(self.core, self.cfg.endpoints.scheduler, health_probe(scheduler))
        self._tasks.append(asyncio.create_task(control.run(self.host_states.stopping)))
        if self.actions is not None:
            periodic = self.actions.periodic(self.cfg, self.host_states.stopping)
            self._tasks.append(asyncio.create_task(periodic))

    async def _discover_hosts(self) -> None:
        """Map hosts found in any cell database (written there by another router, say)."""
        from novamesh.manage import cells as manage_cells

        interval = self.cfg.cells.discover_hosts_interval
        while True:
            try:
                await asyncio.wait_for(self.host_states.stopping.wait(), interval)
                return
            except TimeoutError:
                pass
            try:
                added = await asyncio.to_thread(manage_cells.discover_hosts, self.cfg)
            except Exception as exc:
                LOG.warning("periodic host discovery failed: %s", exc)
                continue
            if added:
                LOG.info("discovered hosts", extra={"fields": {"hosts": [h for h, _ in added]}})

    async def stop(self) -> None:
        self.host_states.stopping.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.core.stop()
        for relay in self._relays:
            relay.cancel()
        await asyncio.gather(*self._relays, return_exceptions=True)
        await self.core.hub.flush()
        await self.store.close()
        await self.core.registry.close()
        for channel in self._channels:
            await channel.close(None)
        await self.api_engine.dispose()
