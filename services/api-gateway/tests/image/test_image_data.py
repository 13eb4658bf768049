"""Uploading and downloading image bits: streaming, hashes, states, limits."""

from __future__ import annotations

import hashlib
import struct
from typing import Any

from novamesh.image.v1 import image_pb2

Env = Any
MiB = 1024 * 1024


async def test_upload_makes_the_image_active_with_glance_hashes(env: Env) -> None:
    image = await env.rest.create(disk_format="raw", container_format="bare")
    chunks = [b"x" * MiB, b"y" * 1000, b"z"]
    data = b"".join(chunks)
    uploaded = await env.rest.upload(image["id"], chunks)
    assert uploaded.status == 204
    doc = (await env.rest.call("GetImage", image["id"])).json()
    assert doc["status"] == "active"
    assert doc["size"] == len(data) == doc["virtual_size"]
    assert doc["checksum"] == hashlib.md5(data).hexdigest()
    assert doc["os_hash_algo"] == "sha512"
    assert doc["os_hash_value"] == hashlib.sha512(data).hexdigest()
    down = await env.rest.download(image["id"])
    assert down.status == 200 and down.data == data
    assert down.headers["content-md5"] == doc["checksum"]
    again = await env.rest.upload(image["id"], [b"more"])
    assert again.status == 409 and "active" in again.message


async def test_qcow2_virtual_size_comes_from_its_header(env: Env) -> None:
    image = await env.rest.create(disk_format="qcow2", container_format="bare")
    header = b"QFI\xfb" + struct.pack(">I", 3) + b"\0" * 16 + struct.pack(">Q", 10 * 1024**3)
    await env.rest.upload(image["id"], [header + b"\0" * 100])
    doc = (await env.rest.call("GetImage", image["id"])).json()
    assert doc["virtual_size"] == 10 * 1024**3 and doc["size"] == len(header) + 100


async def test_images_bigger_than_a_grpc_message_stream_through(env: Env) -> None:
    image = await env.rest.create(disk_format="raw", container_format="bare")
    # 65 MiB in Envoy's 1 MiB pieces: past the mesh's 64 MiB message limit.
    chunk = bytes(range(256)) * 4096
    uploaded = await env.rest.upload(image["id"], [chunk] * 65)
    assert uploaded.status == 204
    doc = (await env.rest.call("GetImage", image["id"])).json()
    assert doc["size"] == 65 * MiB
    assert (env.store_dir / image["id"]).stat().st_size == 65 * MiB


async def test_uploads_over_the_cap_get_413_and_leave_nothing(env: Env) -> None:
    image = await env.rest.create(disk_format="raw", container_format="bare")
    too_big = env.cfg.image.max_image_size // MiB + 1
    resp = await env.rest.upload(image["id"], [b"\0" * MiB] * too_big)
    assert resp.status == 413 and "too large" in resp.message
    doc = (await env.rest.call("GetImage", image["id"])).json()
    assert doc["status"] == "queued" and doc["size"] is None
    assert list(env.store_dir.iterdir()) == []
    # The image can still be uploaded afterwards.
    assert (await env.rest.upload(image["id"], [b"ok"])).status == 204


async def test_upload_needs_octet_stream_and_ownership(env: Env) -> None:
    image = await env.rest.create()
    wrong = await env.rest.upload(image["id"], [b"x"], content_type="application/json")
    assert wrong.status == 415
    public = await env.rest.create(token="admin:p1", visibility="public")
    foreign = await env.rest.upload(public["id"], [b"x"], token="bob:p2")
    assert foreign.status == 403
    missing = await env.rest.upload("0b7b6a1c-0000-4000-8000-000000000000", [b"x"])
    assert missing.status == 404


async def test_download_without_data_is_204(env: Env) -> None:
    image = await env.rest.create()
    resp = await env.rest.download(image["id"])
    assert resp.status == 204 and resp.data == b""


async def test_empty_upload_is_an_active_empty_image(env: Env) -> None:
    image = await env.rest.create(disk_format="raw", container_format="bare")
    assert (await env.rest.upload(image["id"], [])).status == 204
    doc = (await env.rest.call("GetImage", image["id"])).json()
    assert (doc["status"], doc["size"]) == ("active", 0)
    assert doc["checksum"] == hashlib.md5(b"").hexdigest()


async def test_deactivated_images_cannot_be_downloaded_except_by_admin(env: Env) -> None:
    image = await env.rest.create(disk_format="raw", container_format="bare")
    assert (await env.rest.call("DeactivateImage", image["id"])).status == 400
    await env.rest.upload(image["id"], [b"bits"])
    assert (await env.rest.call("DeactivateImage", image["id"])).status == 204
    doc = (await env.rest.call("GetImage", image["id"])).json()
    assert doc["status"] == "deactivated"
    assert (await env.rest.download(image["id"])).status == 403
    assert (await env.rest.download(image["id"], token="admin")).data == b"bits"
    assert (await env.rest.call("ReactivateImage", image["id"])).status == 204
    assert (await env.rest.download(image["id"])).data == b"bits"


async def test_delete_removes_the_bits(env: Env) -> None:
    image = await env.rest.create(disk_format="raw", container_format="bare")
    await env.rest.upload(image["id"], [b"bits"])
    assert (env.store_dir / image["id"]).exists()
    assert (await env.rest.call("DeleteImage", image["id"])).status == 204
    assert not (env.store_dir / image["id"]).exists()


async def test_typed_service_serves_metadata_and_chunks(env: Env) -> None:
    image = await env.rest.create(disk_format="raw", container_format="bare", visibility="private")
    data = bytes(range(256)) * 100
    await env.rest.upload(image["id"], [data])
    owner_md = [("x-novamesh-project-id", "p1"), ("x-novamesh-user-id", "alice")]
    got = await env.typed.GetImage(
        image_pb2.GetImageRequest(image_id=image["id"]), metadata=owner_md
    )
    assert (got.id, got.status, got.size, got.disk_format) == (
        image["id"],
        "active",
        len(data),
        "raw",
    )
    assert got.os_hash_value == hashlib.sha512(data).hexdigest()
    chunks = [
        c
        async for c in env.typed.GetImageData(
            image_pb2.GetImageDataRequest(image_id=image["id"], offset=100, chunk_size=1000),
            metadata=owner_md,
        )
    ]
    assert b"".join(c.data for c in chunks) == data[100:]
    assert [c.offset for c in chunks[:2]] == [100, 1100]
    stranger = [("x-novamesh-project-id", "p2")]
    try:
        await env.typed.GetImage(image_pb2.GetImageRequest(image_id=image["id"]), metadata=stranger)
    except Exception as exc:  # grpc.aio.AioRpcError
        assert "NOT_FOUND" in str(exc.code())  # type: ignore[attr-defined]
    else:
        raise AssertionError("a private image leaked to another project")
    admin = [("x-novamesh-project-id", "ops"), ("x-novamesh-roles", "admin")]
    seen = await env.typed.GetImage(image_pb2.GetImageRequest(image_id=image["id"]), metadata=admin)
    assert seen.id == image["id"]
