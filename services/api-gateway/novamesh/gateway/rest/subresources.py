"""The server sub-resource REST faces (metadata, tags, ips, diagnostics, password, topology,
consoles, interfaces, volumes), registered together so the gateway's main names them in one
line."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from novamesh.compute.v1 import (
    api_server_consoles_pb2,
    api_server_consoles_pb2_grpc,
    api_server_info_pb2,
    api_server_info_pb2_grpc,
    api_server_interfaces_pb2,
    api_server_interfaces_pb2_grpc,
    api_server_metadata_pb2,
    api_server_metadata_pb2_grpc,
    api_server_tags_pb2,
    api_server_tags_pb2_grpc,
    api_volumes_pb2,
    api_volumes_pb2_grpc,
)
from novamesh.gateway.clients.devices import GrpcDevices
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest.call import Rest
from novamesh.gateway.rest.server_consoles import ServerConsolesRest
from novamesh.gateway.rest.server_info import ServerInfoRest
from novamesh.gateway.rest.server_interfaces import ServerInterfacesRest
from novamesh.gateway.rest.server_metadata import ServerMetadataRest
from novamesh.gateway.rest.server_tags import ServerTagsRest
from novamesh.gateway.rest.volumes import VolumesRest

Registrar = Callable[[grpc.aio.Server], None]

SERVICE_NAMES = [
    api_server_metadata_pb2.DESCRIPTOR.services_by_name["ServerMetadataRestService"].full_name,
    api_server_tags_pb2.DESCRIPTOR.services_by_name["ServerTagsRestService"].full_name,
    api_server_info_pb2.DESCRIPTOR.services_by_name["ServerInfoRestService"].full_name,
    api_server_consoles_pb2.DESCRIPTOR.services_by_name["ServerConsolesRestService"].full_name,
    api_server_interfaces_pb2.DESCRIPTOR.services_by_name["ServerInterfacesRestService"].full_name,
    api_volumes_pb2.DESCRIPTOR.services_by_name["VolumesRestService"].full_name,
]


def registrars(rest: Rest, deps: Deps) -> list[Registrar]:
    devices = GrpcDevices(deps.cfg.endpoints.router)
    metadata = ServerMetadataRest(rest, deps)
    tags = ServerTagsRest(rest, deps)
    info = ServerInfoRest(rest, deps, devices)
    consoles = ServerConsolesRest(rest, deps, devices)
    interfaces = ServerInterfacesRest(rest, deps, devices)
    volumes = VolumesRest(rest, deps, devices)
    return [
        lambda s: api_server_metadata_pb2_grpc.add_ServerMetadataRestServiceServicer_to_server(
            metadata, s
        ),
        lambda s: api_server_tags_pb2_grpc.add_ServerTagsRestServiceServicer_to_server(tags, s),
        lambda s: api_server_info_pb2_grpc.add_ServerInfoRestServiceServicer_to_server(info, s),
        lambda s: api_server_consoles_pb2_grpc.add_ServerConsolesRestServiceServicer_to_server(
            consoles, s
        ),
        lambda s: api_server_interfaces_pb2_grpc.add_ServerInterfacesRestServiceServicer_to_server(
            interfaces, s
        ),
        lambda s: api_volumes_pb2_grpc.add_VolumesRestServiceServicer_to_server(volumes, s),
    ]
