"""novamesh-api: the compute API (Nova REST face and typed ServersService) and, when present,
the built-in image service, on one gRPC server behind Envoy."""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from typing import Any

import grpc
from novamesh.common import db, service
from novamesh.common.apidb import MIGRATIONS
from novamesh.common.config import Config
from novamesh.compute.v1 import (
    api_aggregates_pb2,
    api_aggregates_pb2_grpc,
    api_extensions_pb2,
    api_extensions_pb2_grpc,
    api_flavors_pb2,
    api_flavors_pb2_grpc,
    api_images_pb2,
    api_images_pb2_grpc,
    api_keypairs_pb2,
    api_keypairs_pb2_grpc,
    api_server_actions_pb2,
    api_server_actions_pb2_grpc,
    api_server_events_pb2,
    api_server_events_pb2_grpc,
    api_server_groups_pb2,
    api_server_groups_pb2_grpc,
    api_servers_pb2,
    api_servers_pb2_grpc,
    api_services_pb2,
    api_services_pb2_grpc,
    api_versions_pb2,
    api_versions_pb2_grpc,
    servers_pb2,
    servers_pb2_grpc,
)
from novamesh.gateway.clients.devices import GrpcDevices
from novamesh.gateway.clients.router import GrpcRouter
from novamesh.gateway.clients.services import ServicesClient
from novamesh.gateway.console.server import ConsoleProxy
from novamesh.gateway.domain import image_cleanup
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest import catalog, subresources
from novamesh.gateway.rest.aggregates import AggregatesRest, AvailabilityZonesRest
from novamesh.gateway.rest.call import Rest
from novamesh.gateway.rest.extensions import ExtensionsRest
from novamesh.gateway.rest.flavors import FlavorsRest
from novamesh.gateway.rest.images import ImagesRest
from novamesh.gateway.rest.keypairs import KeypairsRest
from novamesh.gateway.rest.server_events import ServerEventsRest
from novamesh.gateway.rest.server_groups import ServerGroupsRest
from novamesh.gateway.rest.server_records import ServerRecordsRest
from novamesh.gateway.rest.servers import ServersRest
from novamesh.gateway.rest.services import ServicesRest
from novamesh.gateway.rest.versions import VersionsRest
from novamesh.gateway.typed.servers import ServersTyped
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

LOG = logging.getLogger(__name__)

COMPUTE_SERVICES = [
    api_versions_pb2.DESCRIPTOR.services_by_name["VersionsRestService"].full_name,
    api_servers_pb2.DESCRIPTOR.services_by_name["ServersRestService"].full_name,
    api_flavors_pb2.DESCRIPTOR.services_by_name["FlavorsRestService"].full_name,
    api_images_pb2.DESCRIPTOR.services_by_name["ImagesRestService"].full_name,
    api_keypairs_pb2.DESCRIPTOR.services_by_name["KeypairsRestService"].full_name,
    api_services_pb2.DESCRIPTOR.services_by_name["ServicesRestService"].full_name,
    servers_pb2.DESCRIPTOR.services_by_name["ServersService"].full_name,
    api_server_actions_pb2.DESCRIPTOR.services_by_name["ServerActionsRestService"].full_name,
    api_server_events_pb2.DESCRIPTOR.services_by_name["ServerEventsRestService"].full_name,
    *subresources.SERVICE_NAMES,
    *catalog.SERVICE_NAMES,
    api_server_groups_pb2.DESCRIPTOR.services_by_name["ServerGroupsRestService"].full_name,
    api_aggregates_pb2.DESCRIPTOR.services_by_name["AggregatesRestService"].full_name,
    api_aggregates_pb2.DESCRIPTOR.services_by_name["AvailabilityZonesRestService"].full_name,
    api_extensions_pb2.DESCRIPTOR.services_by_name["ExtensionsRestService"].full_name,
]

Registrar = Callable[[grpc.aio.Server], None]


def compute_registrars(deps: Deps) -> list[Registrar]:
    rest = Rest(deps.cfg)
    versions = VersionsRest(rest)
    extensions = ExtensionsRest(rest)
    services_client = ServicesClient(deps.cfg.endpoints.router)
    servers = ServersRest(rest, deps, services_client)
    flavors = FlavorsRest(rest, deps)
    images = ImagesRest(rest, deps)
    keypairs = KeypairsRest(rest, deps)
    os_services = ServicesRest(rest, services_client)
    typed = ServersTyped(deps)
    server_records = ServerRecordsRest(rest, deps)
    server_events = ServerEventsRest(rest, deps)
    server_groups = ServerGroupsRest(rest, deps)
    aggregates = AggregatesRest(rest, deps)
    zones = AvailabilityZonesRest(rest, deps, services_client)
    return [
        lambda s: api_versions_pb2_grpc.add_VersionsRestServiceServicer_to_server(versions, s),
        lambda s: api_extensions_pb2_grpc.add_ExtensionsRestServiceServicer_to_server(
            extensions, s
        ),
        lambda s: api_servers_pb2_grpc.add_ServersRestServiceServicer_to_server(servers, s),
        lambda s: api_flavors_pb2_grpc.add_FlavorsRestServiceServicer_to_server(flavors, s),
        lambda s: api_images_pb2_grpc.add_ImagesRestServiceServicer_to_server(images, s),
        lambda s: api_keypairs_pb2_grpc.add_KeypairsRestServiceServicer_to_server(keypairs, s),
        lambda s: api_services_pb2_grpc.add_ServicesRestServiceServicer_to_server(os_services, s),
        lambda s: servers_pb2_grpc.add_ServersServiceServicer_to_server(typed, s),
        lambda s: api_server_actions_pb2_grpc.add_ServerActionsRestServiceServicer_to_server(
            server_records, s
        ),
        lambda s: api_server_events_pb2_grpc.add_ServerEventsRestServiceServicer_to_server(
            server_events, s
        ),
        *subresources.registrars(rest, deps),
        *catalog.registrars(rest, deps),
        lambda s: api_server_groups_pb2_grpc.add_ServerGroupsRestServiceServicer_to_server(
            server_groups, s
        ),
        lambda s: api_aggregates_pb2_grpc.add_AggregatesRestServiceServicer_to_server(
            aggregates, s
        ),
        lambda s: api_aggregates_pb2_grpc.add_AvailabilityZonesRestServiceServicer_to_server(
            zones, s
        ),
    ]


def image_service(
    cfg: Config, sessions: async_sessionmaker[AsyncSession]
) -> tuple[list[Registrar], list[str]]:
    """The built-in image service, when its package is installed beside the gateway."""
    try:
        module: Any = importlib.import_module("novamesh.gateway.image")
    except ImportError:
        LOG.info("built-in image service not available")
        return [], []
    names = list(getattr(module, "SERVICE_NAMES", []))
    return [lambda s: module.register(s, cfg, sessions)], names


async def build(cfg: Config) -> service.ServiceSpec:
    url = cfg.expand(cfg.database.api_url)
    # The gateway owns the API database; upgrading an up-to-date one is a no-op.
    await asyncio.to_thread(db.migrate, url, MIGRATIONS)
    engine = db.create_async_engine(url, echo=cfg.database.echo)
    sessions = db.sessionmaker(engine)
    router = GrpcRouter(cfg.endpoints.router)
    deps = Deps(cfg, sessions, router)
    registrars = compute_registrars(deps)
    image_registrars, image_names = image_service(cfg, sessions)
    # The console proxy (novncproxy/serialproxy role) beside the API: it reads the API
    # database's console tokens, on its own port (websockets, not gRPC).
    console_devices = GrpcDevices(cfg.endpoints.router)
    console_proxy = ConsoleProxy(cfg.console, sessions, console_devices)

    async def on_start() -> None:
        # Image cleanup watches outlive a gateway: resume this one's, take over stale ones.
        image_cleanup.start(deps)
        try:
            await console_proxy.start()
        except OSError as err:
            # The compute API stays up without its consoles (a second gateway on one machine).
            LOG.error("console proxy cannot listen on %s: %s", cfg.console.listen, err)

    async def on_stop() -> None:
        await image_cleanup.stop(deps)
        await console_proxy.stop()
        await console_devices.close()
        await router.close()
        await engine.dispose()

    return service.ServiceSpec(
        listen=cfg.endpoints.gateway,
        registrars=[*registrars, *image_registrars],
        service_names=[*COMPUTE_SERVICES, *image_names],
        on_start=on_start,
        on_stop=on_stop,
    )


def main() -> None:
    service.run("api", build)
