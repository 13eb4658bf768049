"""The server sub-resource REST faces (metadata, tags, ips, diagnostics, password, topology),
registered together so the gateway's main names them in one line."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from novamesh.compute.v1 import (
    api_server_info_pb2,
    api_server_info_pb2_grpc,
    api_server_metadata_pb2,
    api_server_metadata_pb2_grpc,
    api_server_tags_pb2,
    api_server_tags_pb2_grpc,
)
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest.call import Rest
from novamesh.gateway.rest.server_info import ServerInfoRest
from novamesh.gateway.rest.server_metadata import ServerMetadataRest
from novamesh.gateway.rest.server_tags import ServerTagsRest

Registrar = Callable[[grpc.aio.Server], None]

SERVICE_NAMES = [
    api_server_metadata_pb2.DESCRIPTOR.services_by_name["ServerMetadataRestService"].full_name,
    api_server_tags_pb2.DESCRIPTOR.services_by_name["ServerTagsRestService"].full_name,
    api_server_info_pb2.DESCRIPTOR.services_by_name["ServerInfoRestService"].full_name,
]


def registrars(rest: Rest, deps: Deps) -> list[Registrar]:
    metadata = ServerMetadataRest(rest, deps)
    tags = ServerTagsRest(rest, deps)
    info = ServerInfoRest(rest, deps)
    return [
        lambda s: api_server_metadata_pb2_grpc.add_ServerMetadataRestServiceServicer_to_server(
            metadata, s
        ),
        lambda s: api_server_tags_pb2_grpc.add_ServerTagsRestServiceServicer_to_server(tags, s),
        lambda s: api_server_info_pb2_grpc.add_ServerInfoRestServiceServicer_to_server(info, s),
    ]
