"""An in-process gateway (real gRPC server, real API database) in front of a FakeRouter, and a
client that calls the REST-face RPCs the way Envoy's transcoder does."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid as uuidlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.api import httpbody_pb2
from novamesh.cells.v1 import router_pb2_grpc, server_devices_pb2_grpc, services_pb2_grpc
from novamesh.common import db
from novamesh.common.apidb import MIGRATIONS, models
from novamesh.common.config import Config
from novamesh.compute.v1 import (
    api_flavors_pb2_grpc,
    api_images_pb2_grpc,
    api_keypairs_pb2_grpc,
    api_servers_pb2_grpc,
    api_versions_pb2_grpc,
    rest_pb2,
    servers_pb2_grpc,
)
from novamesh.gateway.clients.router import GrpcRouter
from novamesh.gateway.domain import image_cleanup
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.main import compute_registrars
from novamesh.gateway.testing.fake_devices import FakeDevices
from novamesh.gateway.testing.fake_router import FakeRouter
from novamesh.gateway.testing.fake_services import FakeServices
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

_DEFAULT_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 403,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
}


def _md(metadata: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (metadata or ())}


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any
    code: grpc.StatusCode = grpc.StatusCode.OK
    message: str = ""


@dataclass
class Gateway:
    cfg: Config
    sessions: async_sessionmaker[AsyncSession]
    router: FakeRouter
    channel: grpc.aio.Channel
    port: int
    engine: AsyncEngine | None = None
    stubs: dict[str, Any] = field(default_factory=dict)
    statements: list[str] = field(default_factory=list)
    # The router's fake CellsServerDevicesService (diagnostics, consoles, attachments).
    devices: FakeDevices | None = None
    # The router's fake CellsServicesService (os-services, zone details).
    services: FakeServices | None = None

    def __post_init__(self) -> None:
        self.stubs = {
            "versions": api_versions_pb2_grpc.VersionsRestServiceStub(self.channel),
            "servers": api_servers_pb2_grpc.ServersRestServiceStub(self.channel),
            "flavors": api_flavors_pb2_grpc.FlavorsRestServiceStub(self.channel),
            "images": api_images_pb2_grpc.ImagesRestServiceStub(self.channel),
            "keypairs": api_keypairs_pb2_grpc.KeypairsRestServiceStub(self.channel),
        }
        self.typed = servers_pb2_grpc.ServersServiceStub(self.channel)
        if self.engine is not None:
            event.listen(self.engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    async def rest(
        self,
        method: str,
        *,
        path: str = "",
        id: str = "",
        sub_id: str = "",
        body: Any = None,
        raw: bytes | None = None,
        version: str | None = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Call `service.Method` (e.g. `servers.CreateServer`) as Envoy would."""
        service, rpc = method.split(".")
        md = [("x-envoy-original-path", path or "/"), ("host", "api.example.com:8774")]
        if version is not None:
            md.append(("openstack-api-version", f"compute {version}"))
        if token is not None:
            md.append(("x-auth-token", token))
        md += list((headers or {}).items())
        request = rest_pb2.RestRequest(id=id, sub_id=sub_id)
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None:
            request.body.CopyFrom(httpbody_pb2.HttpBody(content_type="application/json", data=data))
        call = getattr(self.stubs[service], rpc)(request, metadata=md)
        try:
            reply = await call
        except grpc.aio.AioRpcError as exc:
            initial = _md(exc.initial_metadata())
            trailing = _md(exc.trailing_metadata())
            status = int(trailing.get("x-http-status") or _DEFAULT_STATUS.get(exc.code(), 500))
            return Response(status, initial, None, exc.code(), exc.details() or "")
        initial = _md(await call.initial_metadata())
        status = int(initial.get("x-http-status", "200"))
        payload = json.loads(reply.data) if reply.data else None
        return Response(status, initial, payload)

    async def add_flavor(
        self, flavorid: str = "1", name: str = "m1.tiny", ram: int = 512, disk: int = 1, **kw: Any
    ) -> None:
        async with db.transaction(self.sessions) as session:
            session.add(
                models.Flavor(
                    flavorid=flavorid,
                    name=name,
                    memory_mb=ram,
                    vcpus=kw.pop("vcpus", 1),
                    root_gb=disk,
                    extra_specs=[
                        models.FlavorExtraSpec(key=k, value=v)
                        for k, v in kw.pop("extra_specs", {}).items()
                    ],
                    projects=[],
                    **kw,
                )
            )

    async def add_image(self, image_id: str | None = None, **kw: Any) -> str:
        image_id = image_id or str(uuidlib.uuid4())
        kw.setdefault("name", "cirros")
        kw.setdefault("status", "active")
        kw.setdefault("visibility", "public")
        kw.setdefault("size", 1024)
        kw.setdefault("properties", {"architecture": "x86_64", "auto_disk_config": "True"})
        kw.setdefault("created_at", dt.datetime(2011, 1, 1, 1, 2, 3))
        async with db.transaction(self.sessions) as session:
            session.add(models.Image(id=image_id, **kw))
        return image_id

    async def count(self, model: type[models.Base]) -> int:
        from sqlalchemy import func, select

        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@asynccontextmanager
async def running(tmp_path: Path) -> AsyncIterator[Gateway]:
    """A gateway and a fake router on free ports; both are stopped on exit."""
    cfg = Config(state_dir=str(tmp_path))
    url = f"sqlite:///{tmp_path}/api.db"
    cfg.database.api_url = url
    await asyncio.to_thread(db.migrate, url, MIGRATIONS)
    engine = db.create_async_engine(url)
    sessions = db.sessionmaker(engine)

    fake = FakeRouter()
    router_server = grpc.aio.server()
    router_pb2_grpc.add_CellsRouterServiceServicer_to_server(fake, router_server)
    devices = FakeDevices(fake)
    server_devices_pb2_grpc.add_CellsServerDevicesServiceServicer_to_server(devices, router_server)
    services = FakeServices()
    services_pb2_grpc.add_CellsServicesServiceServicer_to_server(services, router_server)
    router_port = router_server.add_insecure_port("127.0.0.1:0")
    await router_server.start()
    cfg.endpoints.router = f"127.0.0.1:{router_port}"

    from novamesh.common import grpcutil

    client_router = GrpcRouter(cfg.endpoints.router)
    deps = Deps(cfg, sessions, client_router)
    server, port, _health = grpcutil.create_server("127.0.0.1:0", compute_registrars(deps), [])
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        gateway = Gateway(cfg, sessions, fake, channel, port, engine)
        gateway.devices = devices
        gateway.services = services
        yield gateway
    finally:
        await image_cleanup.stop(deps)
        await channel.close(None)
        await server.stop(None)
        await client_router.close()
        await router_server.stop(None)
        await engine.dispose()
