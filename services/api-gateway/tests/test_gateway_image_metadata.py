"""Nova's image metadata proxy: read, merge, replace, one item, ownership, until 2.38."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from novamesh.gateway.testing.harness import Gateway, Response, running


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        yield gateway


async def _call(
    gw: Gateway, rpc: str, image: str, key: str = "", body: Any = None, **kw: Any
) -> Response:
    path = f"/v2.1/images/{image}/metadata" + (f"/{key}" if key else "")
    kw.setdefault("token", "alice:p1")
    return await gw.rest(f"images.{rpc}", id=image, sub_id=key, path=path, body=body, **kw)


async def test_read_and_write_as_the_owner(gw: Gateway) -> None:
    image = await gw.add_image(owner="p1", properties={"kernel_id": "nokernel"})
    listed = await _call(gw, "ListImageMetadata", image)
    assert listed.body == {"metadata": {"kernel_id": "nokernel"}}
    merged = await _call(gw, "MergeImageMetadata", image, body={"metadata": {"Label": "x"}})
    assert merged.body == {"metadata": {"kernel_id": "nokernel", "Label": "x"}}
    one = await _call(gw, "SetImageMetadataItem", image, "Label", {"meta": {"Label": "y"}})
    assert one.body == {"meta": {"Label": "y"}}
    mismatch = await _call(gw, "SetImageMetadataItem", image, "Label", {"meta": {"other": "y"}})
    assert (mismatch.status, mismatch.message) == (400, "Request body and URI mismatch")
    shown = await _call(gw, "GetImageMetadataItem", image, "Label")
    assert shown.body == {"meta": {"Label": "y"}}
    replaced = await _call(gw, "ReplaceImageMetadata", image, body={"metadata": {"a": "b"}})
    assert replaced.body == {"metadata": {"a": "b"}}
    gone = await _call(gw, "DeleteImageMetadataItem", image, "a")
    assert gone.status == 204
    assert (await _call(gw, "GetImageMetadataItem", image, "a")).status == 404
    assert (await _call(gw, "DeleteImageMetadataItem", image, "a")).status == 404


async def test_others_read_public_images_only_and_never_write(gw: Gateway) -> None:
    public = await gw.add_image(owner="p1")
    private = await gw.add_image(owner="p1", visibility="private")
    assert (await _call(gw, "ListImageMetadata", public, token="eve:p9")).status == 200
    assert (await _call(gw, "ListImageMetadata", private, token="eve:p9")).status == 404
    body = {"metadata": {"x": "y"}}
    denied = await _call(gw, "MergeImageMetadata", public, body=body, token="eve:p9")
    assert denied.status == 403
    reserved = await _call(gw, "MergeImageMetadata", public, body={"metadata": {"name": "n"}})
    assert reserved.status == 403
    assert (await _call(gw, "ListImageMetadata", public, version="2.39")).status == 404
