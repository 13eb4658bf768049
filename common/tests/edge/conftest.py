"""A real Envoy in front of a tiny in-test gRPC server that implements real compute.v1 REST faces.

One Envoy, three listeners (nova, placement and glance fault formats) over the same backend, so
each fault format is seen on the same RPCs. Ports are free ports; everything is stopped after.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.api import httpbody_pb2
from novamesh.common.edge import descriptors as desc
from novamesh.common.edge import envoy, process
from novamesh.compute.v1 import (
    api_servers_pb2_grpc,
    api_versions_pb2_grpc,
    rest_pb2,
)

from tests.support.ports import free_ports

COMPUTE_SERVICES = [
    "novamesh.compute.v1.ServersRestService",
    "novamesh.compute.v1.VersionsRestService",
]


def _json(data: object) -> httpbody_pb2.HttpBody:
    return httpbody_pb2.HttpBody(content_type="application/json", data=json.dumps(data).encode())


def _metadata(ctx: grpc.aio.ServicerContext[object, object]) -> dict[str, str]:
    return {k: v for k, v in ctx.invocation_metadata() or () if isinstance(v, str)}


class FakeServers(api_servers_pb2_grpc.ServersRestServiceServicer):
    """Behaviour keyed by the server id, so each test picks the reply it needs."""

    async def GetServer(
        self, request: rest_pb2.RestRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> httpbody_pb2.HttpBody:
        sid = request.id
        if sid == "nope":
            await context.abort(grpc.StatusCode.NOT_FOUND, f"Instance {sid} could not be found.")
        if sid == "forbidden":
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, 'Policy "x" says "no" \\ ü')
        if sid == "busy":
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "Cannot 'stop' while busy")
        if sid == "quota":
            context.set_trailing_metadata((("x-http-status", "413"), ("retry-after", "30")))
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "Quota exceeded for cores")
        if sid == "late":
            # An error after initial metadata (not trailers-only): the codes ride in trailers.
            await context.send_initial_metadata(
                (("openstack-api-version", "compute 2.60"), ("x-openstack-request-id", "req-1"))
            )
            context.set_trailing_metadata(
                (("x-http-status", "409"), ("x-error-code", "placement.concurrent_update"))
            )
            await context.abort(grpc.StatusCode.ABORTED, "generation conflict")
        if sid == "v9":
            context.set_trailing_metadata((("x-http-status", "406"),))
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "Version 9.0 is not supported by the API."
            )
        if sid == "late-quota":
            await context.send_initial_metadata((("openstack-api-version", "compute 2.60"),))
            context.set_trailing_metadata((("x-http-status", "429"), ("retry-after", "5")))
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "Rate limited")
        md = _metadata(context)
        return _json(
            {
                "server": {"id": sid},
                "seen": {
                    "original_path": md.get("x-envoy-original-path"),
                    "path_project": md.get("x-novamesh-path-project-id"),
                },
            }
        )

    async def CreateServer(
        self, request: rest_pb2.RestRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> httpbody_pb2.HttpBody:
        body = json.loads(request.body.data or b"{}")
        await context.send_initial_metadata(
            (("x-http-status", "202"), ("location", "http://edge/v2.1/servers/new-1"))
        )
        return _json({"server": {"id": "new-1", "name": body["server"]["name"]}})

    async def DeleteServer(
        self, request: rest_pb2.RestRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> httpbody_pb2.HttpBody:
        await context.send_initial_metadata((("x-http-status", "204"),))
        return httpbody_pb2.HttpBody()

    async def ServerAction(
        self, request: rest_pb2.RestRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> httpbody_pb2.HttpBody:
        await context.send_initial_metadata((("x-http-status", "202"),))
        if request.id == "json-empty":
            return _json({})
        return httpbody_pb2.HttpBody()

    async def UpdateServer(
        self, request: rest_pb2.RestRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> httpbody_pb2.HttpBody:
        # A body the service validated and rendered itself, as the gateway does for 400s.
        await context.send_initial_metadata((("x-http-status", "400"),))
        return _json({"badRequest": {"code": 400, "message": "Invalid input"}})

    async def ListServers(
        self, request: rest_pb2.RestRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> httpbody_pb2.HttpBody:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not in this fake")

    ListServersDetail = ListServers


class FakeVersions(api_versions_pb2_grpc.VersionsRestServiceServicer):
    async def ListVersions(
        self, request: rest_pb2.RestRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> httpbody_pb2.HttpBody:
        return _json({"versions": [{"id": "v2.1"}]})

    async def GetVersion(
        self, request: rest_pb2.RestRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> httpbody_pb2.HttpBody:
        return _json({"version": {"id": "v2.1"}})


@dataclass
class Edge:
    nova: str
    placement: str
    glance: str
    grpc_target: str  # native gRPC through the nova listener
    proc: process.EnvoyProcess


@pytest.fixture(scope="session")
async def backend() -> AsyncIterator[str]:
    server = grpc.aio.server()
    api_servers_pb2_grpc.add_ServersRestServiceServicer_to_server(FakeServers(), server)
    api_versions_pb2_grpc.add_VersionsRestServiceServicer_to_server(FakeVersions(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


@pytest.fixture(scope="session")
def descriptors() -> desc.Descriptors:
    return desc.Descriptors.load(desc.default_descriptor_path())


@pytest.fixture(scope="session")
def edge(
    backend: str, descriptors: desc.Descriptors, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Edge]:
    nova, placement, glance, admin = free_ports(4)
    listeners = [
        envoy.Listener(
            "compute",
            nova,
            backend,
            COMPUTE_SERVICES,
            "nova",
            strip_json_suffix=True,
            strip_project_id=True,
            cors_origins=["http://valid.example.com"],
            identity_stub_url=f"http://127.0.0.1:{nova}",
        ),
        envoy.Listener("placement", placement, backend, COMPUTE_SERVICES, "placement"),
        envoy.Listener("image", glance, backend, COMPUTE_SERVICES, "glance"),
    ]
    work: Path = tmp_path_factory.mktemp("edge")
    config = work / "envoy.yaml"
    config.write_text(envoy.dump(envoy.render(envoy.EdgeConfig(listeners, admin), descriptors)))
    proc = process.start(config, admin, work / "envoy.log")
    try:
        yield Edge(
            f"http://127.0.0.1:{nova}",
            f"http://127.0.0.1:{placement}",
            f"http://127.0.0.1:{glance}",
            f"127.0.0.1:{nova}",
            proc,
        )
    finally:
        proc.stop()
