"""A gateway with the sub-resource stubs, and a booted server, for the sub-resource tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from novamesh.compute.v1 import (
    api_server_consoles_pb2_grpc,
    api_server_info_pb2_grpc,
    api_server_interfaces_pb2_grpc,
    api_server_metadata_pb2_grpc,
    api_server_tags_pb2_grpc,
    api_volumes_pb2_grpc,
)
from novamesh.gateway.testing.harness import Gateway, running


@asynccontextmanager
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gw:
        gw.stubs["metadata"] = api_server_metadata_pb2_grpc.ServerMetadataRestServiceStub(
            gw.channel
        )
        gw.stubs["tags"] = api_server_tags_pb2_grpc.ServerTagsRestServiceStub(gw.channel)
        gw.stubs["info"] = api_server_info_pb2_grpc.ServerInfoRestServiceStub(gw.channel)
        gw.stubs["consoles"] = api_server_consoles_pb2_grpc.ServerConsolesRestServiceStub(
            gw.channel
        )
        gw.stubs["interfaces"] = api_server_interfaces_pb2_grpc.ServerInterfacesRestServiceStub(
            gw.channel
        )
        gw.stubs["volumes"] = api_volumes_pb2_grpc.VolumesRestServiceStub(gw.channel)
        await gw.add_flavor("1", "m1.tiny")
        yield gw


async def boot(gw: Gateway, token: str = "alice:p1", flavor: str = "1") -> str:
    image = await gw.add_image()
    body = {"server": {"name": "vm", "imageRef": image, "flavorRef": flavor}}
    resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=body, token=token)
    assert resp.status == 202, resp.message
    return str(resp.body["server"]["id"])
