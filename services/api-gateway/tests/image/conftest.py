"""A real grpc.aio server on a free port with the image services, over a fresh SQLite API db."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.api.httpbody_pb2 import HttpBody
from novamesh.common import apidb, db, grpcutil
from novamesh.common.config import Config
from novamesh.gateway import image
from novamesh.image.v1 import image_pb2_grpc, image_rest_pb2, image_rest_pb2_grpc

PUBLIC_URL = "http://images.test:9292"
MAX_IMAGE_SIZE = 80 * 1024 * 1024


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    data: bytes = b""
    message: str = ""

    def json(self) -> Any:
        return json.loads(self.data)


def _status(md: Iterable[Any] | None, default: int) -> int:
    for key, value in md or ():
        if key == "x-http-status":
            return int(value)
    return default


_HTTP = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 413,
}


def _error(exc: grpc.aio.AioRpcError) -> Response:
    return Response(
        status=_status(exc.trailing_metadata(), _HTTP.get(exc.code(), 500)),
        message=exc.details() or "",
    )


class Rest:
    """Calls the REST face the way Envoy's transcoder does: path variables, raw body, metadata."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.stub = image_rest_pb2_grpc.ImageRestServiceStub(channel)

    @staticmethod
    def metadata(token: str, path: str) -> list[tuple[str, str]]:
        md = [("x-auth-token", token)] if token else []
        return [*md, ("x-envoy-original-path", path)] if path else md

    async def call(
        self,
        method: str,
        image_id: str = "",
        sub_id: str = "",
        body: object = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
        token: str = "alice:p1",
        path: str = "",
    ) -> Response:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        request = image_rest_pb2.ImageRestRequest(
            image_id=image_id,
            sub_id=sub_id,
            body=HttpBody(content_type=content_type, data=data),
        )
        call = getattr(self.stub, method)(request, metadata=self.metadata(token, path))
        try:
            reply = await call
        except grpc.aio.AioRpcError as exc:
            return _error(exc)
        initial = await call.initial_metadata()
        headers = {k: v for k, v in initial if isinstance(v, str)}
        return Response(status=_status(initial, 200), headers=headers, data=reply.data)

    async def upload(
        self,
        image_id: str,
        chunks: list[bytes],
        *,
        content_type: str = "application/octet-stream",
        token: str = "alice:p1",
    ) -> Response:
        async def messages() -> AsyncIterator[image_rest_pb2.ImageRestRequest]:
            # As Envoy sends it: the path variable and content type in the first message only.
            for i, chunk in enumerate(chunks or [b""]):
                if i == 0:
                    yield image_rest_pb2.ImageRestRequest(
                        image_id=image_id, body=HttpBody(content_type=content_type, data=chunk)
                    )
                else:
                    yield image_rest_pb2.ImageRestRequest(body=HttpBody(data=chunk))

        call = self.stub.UploadImageData(messages(), metadata=self.metadata(token, ""))
        try:
            await call
        except grpc.aio.AioRpcError as exc:
            return _error(exc)
        return Response(status=_status(await call.initial_metadata(), 200))

    async def download(self, image_id: str, token: str = "alice:p1") -> Response:
        call = self.stub.DownloadImageData(
            image_rest_pb2.ImageRestRequest(image_id=image_id),
            metadata=self.metadata(token, ""),
        )
        data = b""
        try:
            async for message in call:
                data += message.data
        except grpc.aio.AioRpcError as exc:
            return _error(exc)
        initial = await call.initial_metadata()
        headers = {k: v for k, v in initial if isinstance(v, str)}
        return Response(status=_status(initial, 200), headers=headers, data=data)

    async def create(self, token: str = "alice:p1", **body: object) -> dict[str, Any]:
        resp = await self.call("CreateImage", body=body, token=token)
        assert resp.status == 201, resp
        doc: dict[str, Any] = resp.json()
        return doc


@dataclass
class Env:
    rest: Rest
    typed: image_pb2_grpc.ImageServiceStub
    cfg: Config
    store_dir: Path


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    cfg = Config(state_dir=str(tmp_path))
    cfg.endpoints.image_public_url = PUBLIC_URL
    cfg.image.max_image_size = MAX_IMAGE_SIZE
    cfg.image.limit_param_default = 25
    url = cfg.expand(cfg.database.api_url)
    db.migrate(url, apidb.MIGRATIONS)
    engine = db.create_async_engine(url)
    names: list[str] = []
    server, port, _health = grpcutil.create_server(
        "127.0.0.1:0",
        [lambda s: names.extend(image.register(s, cfg, sessions=db.sessionmaker(engine)))],
        [],
    )
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=grpcutil.GRPC_OPTIONS)
    try:
        assert names == image.SERVICE_NAMES
        yield Env(
            rest=Rest(channel),
            typed=image_pb2_grpc.ImageServiceStub(channel),
            cfg=cfg,
            store_dir=Path(cfg.expand(cfg.image.store_dir)),
        )
    finally:
        await channel.close(None)
        await server.stop(None)
        await engine.dispose()
