"""novamesh-router: cells v2 and the conductor role (one process per cell, or one for all)."""

from __future__ import annotations

from novamesh.cells.app import RouterApp
from novamesh.cells.devices import Devices
from novamesh.cells.devices_servicer import DevicesServicer
from novamesh.cells.hypervisors import Hypervisors
from novamesh.cells.hypervisors_servicer import HypervisorsServicer
from novamesh.cells.live_migrations import LiveControl
from novamesh.cells.live_migrations_servicer import SERVICE_NAME as LIVE_MIGRATIONS
from novamesh.cells.live_migrations_servicer import registrar as live_migrations
from novamesh.cells.server_events_servicer import SERVICE_NAME as SERVER_EVENTS
from novamesh.cells.server_events_servicer import registrar as server_events
from novamesh.cells.services import Services
from novamesh.cells.v1 import (
    actions_pb2,
    actions_pb2_grpc,
    hypervisors_pb2,
    hypervisors_pb2_grpc,
    router_pb2,
    router_pb2_grpc,
    server_devices_pb2,
    server_devices_pb2_grpc,
    services_pb2,
    services_pb2_grpc,
)
from novamesh.common import service
from novamesh.common.config import Config
from novamesh.common.service import ServiceSpec


async def build(cfg: Config) -> ServiceSpec:
    app = RouterApp.create(cfg)
    actions = app.actions
    assert actions is not None
    devices = DevicesServicer(Devices(app.core))
    hypervisors = HypervisorsServicer(
        Hypervisors(app.core, Services(app.core, app.store.heartbeats))
    )
    return ServiceSpec(
        listen=cfg.endpoints.router,
        registrars=[
            lambda server: router_pb2_grpc.add_CellsRouterServiceServicer_to_server(
                app.servicer, server
            ),
            lambda server: services_pb2_grpc.add_CellsServicesServiceServicer_to_server(
                app.services, server
            ),
            lambda server: actions_pb2_grpc.add_CellsActionsServiceServicer_to_server(
                actions, server
            ),
            lambda server: server_devices_pb2_grpc.add_CellsServerDevicesServiceServicer_to_server(
                devices, server
            ),
            lambda server: hypervisors_pb2_grpc.add_CellsHypervisorsServiceServicer_to_server(
                hypervisors, server
            ),
            live_migrations(LiveControl(app.core)),
            server_events(app.core),
        ],
        service_names=[
            router_pb2.DESCRIPTOR.services_by_name["CellsRouterService"].full_name,
            services_pb2.DESCRIPTOR.services_by_name["CellsServicesService"].full_name,
            actions_pb2.DESCRIPTOR.services_by_name["CellsActionsService"].full_name,
            server_devices_pb2.DESCRIPTOR.services_by_name["CellsServerDevicesService"].full_name,
            hypervisors_pb2.DESCRIPTOR.services_by_name["CellsHypervisorsService"].full_name,
            LIVE_MIGRATIONS,
            SERVER_EVENTS,
        ],
        on_start=app.start,
        on_stop=app.stop,
    )


def main() -> None:
    service.run("router", build)
