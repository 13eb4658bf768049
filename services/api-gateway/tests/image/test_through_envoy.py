"""The image REST face through the real Envoy edge, as the openstack CLI reaches it."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from novamesh.common import apidb, db, grpcutil
from novamesh.common.config import Config
from novamesh.common.edge import descriptors as desc
from novamesh.common.edge import envoy, process
from novamesh.gateway import image

from tests.support.ports import free_ports

pytestmark = pytest.mark.e2e
MiB = 1024 * 1024


def _descriptors() -> desc.Descriptors | None:
    try:
        found = desc.Descriptors.load(desc.default_descriptor_path())
    except FileNotFoundError:
        return None
    return found if all(found.has(s) for s in image.SERVICE_NAMES) else None


@pytest.fixture
async def edge(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    descriptors = _descriptors()
    if descriptors is None:
        pytest.skip("descriptor set without the image services: run `make protos`")
    http_port, admin_port = free_ports(2)
    cfg = Config(state_dir=str(tmp_path))
    cfg.endpoints.image_public_url = f"http://127.0.0.1:{http_port}"
    cfg.image.max_image_size = 80 * MiB
    url = cfg.expand(cfg.database.api_url)
    db.migrate(url, apidb.MIGRATIONS)
    engine = db.create_async_engine(url)

    def add_image_services(server: grpc.aio.Server) -> None:
        image.register(server, cfg, sessions=db.sessionmaker(engine))

    server, grpc_port, _ = grpcutil.create_server("127.0.0.1:0", [add_image_services], [])
    await server.start()
    listener = envoy.Listener(
        "image", http_port, f"127.0.0.1:{grpc_port}", image.SERVICE_NAMES[:1], "glance"
    )
    bootstrap = envoy.render(
        envoy.EdgeConfig([listener], admin_port, desc.default_descriptor_path()), descriptors
    )
    config_path = tmp_path / "envoy.yaml"
    config_path.write_text(envoy.dump(bootstrap))
    proxy = process.start(config_path, admin_port, tmp_path / "envoy.log")
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{http_port}",
            headers={"x-auth-token": "alice:p1"},
            timeout=60,
        ) as client:
            yield client
    finally:
        proxy.stop()
        await server.stop(None)
        await engine.dispose()


async def test_cli_flow_through_envoy(edge: httpx.AsyncClient) -> None:
    root = await edge.get("/")
    assert root.status_code == 300
    assert root.json()["versions"][0]["links"][0]["href"].endswith("/v2/")

    created = await edge.post(
        "/v2/images",
        json={"name": "cirros", "disk_format": "qcow2", "container_format": "bare"},
    )
    assert created.status_code == 201, created.text
    doc: dict[str, Any] = created.json()
    assert created.headers["location"].endswith(f"/v2/images/{doc['id']}")
    assert "x-http-status" not in created.headers

    # Past the mesh's 64 MiB gRPC message limit, streamed by Envoy in 1 MiB messages.
    data = bytes(range(256)) * (4096 * 66)
    uploaded = await edge.put(
        f"/v2/images/{doc['id']}/file",
        content=data,
        headers={"content-type": "application/octet-stream"},
    )
    assert uploaded.status_code == 204, uploaded.text
    shown = (await edge.get(f"/v2/images/{doc['id']}")).json()
    assert shown["status"] == "active" and shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()

    down = await edge.get(f"/v2/images/{doc['id']}/file")
    assert down.status_code == 200
    assert down.headers["content-type"] == "application/octet-stream"
    assert down.headers["content-md5"] == shown["checksum"]
    assert down.content == data

    listed = await edge.get("/v2/images", params={"name": "cirros", "limit": "1"})
    assert [i["id"] for i in listed.json()["images"]] == [doc["id"]]
    assert listed.json()["next"].startswith("/v2/images?")

    patched = await edge.patch(
        f"/v2/images/{doc['id']}",
        json=[{"op": "add", "path": "/os_distro", "value": "cirros"}],
        headers={"content-type": "application/openstack-images-v2.1-json-patch"},
    )
    assert patched.status_code == 200 and patched.json()["os_distro"] == "cirros"

    missing = await edge.get("/v2/images/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    deleted = await edge.delete(f"/v2/images/{doc['id']}")
    assert deleted.status_code == 204 and deleted.content == b""


async def test_oversized_upload_is_413_and_empty_download_204(edge: httpx.AsyncClient) -> None:
    doc = (await edge.post("/v2/images", json={"disk_format": "raw"})).json()
    empty = await edge.get(f"/v2/images/{doc['id']}/file")
    assert empty.status_code == 204 and empty.content == b""
    too_big = await edge.put(
        f"/v2/images/{doc['id']}/file",
        content=b"\0" * (81 * MiB),
        headers={"content-type": "application/octet-stream"},
    )
    assert too_big.status_code == 413, too_big.text
    after = (await edge.get(f"/v2/images/{doc['id']}")).json()
    assert after["status"] == "queued"
    schema = await edge.get("/v2/schemas/image")
    assert schema.status_code == 200 and schema.json()["name"] == "image"


async def test_native_grpc_clients_share_the_port(edge: httpx.AsyncClient) -> None:
    from novamesh.image.v1 import image_pb2, image_pb2_grpc

    target = str(edge.base_url).removeprefix("http://").rstrip("/")
    async with grpc.aio.insecure_channel(target) as channel:
        stub = image_pb2_grpc.ImageServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetImage(image_pb2.GetImageRequest(image_id="nope"))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
