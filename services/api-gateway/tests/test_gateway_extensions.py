"""GET /extensions: Nova's fixed list; the legacy v2 endpoint adds OS-EXT-VIF-NET."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.compute.v1 import api_extensions_pb2_grpc
from novamesh.gateway.testing.harness import Gateway, running


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        stub = api_extensions_pb2_grpc.ExtensionsRestServiceStub(gateway.channel)
        gateway.stubs["extensions"] = stub
        yield gateway


async def test_list_and_show(gw: Gateway) -> None:
    v21 = await gw.rest("extensions.ListExtensions", path="/v2.1/extensions", token="alice:p1")
    assert v21.status == 200
    aliases = [e["alias"] for e in v21.body["extensions"]]
    assert "os-keypairs" in aliases and "OS-EXT-VIF-NET" not in aliases
    legacy = await gw.rest("extensions.ListExtensions", path="/v2/extensions", token="alice:p1")
    assert len(legacy.body["extensions"]) == len(aliases) + 1
    one = await gw.rest(
        "extensions.GetExtension", id="os-agents", path="/v2.1/extensions/os-agents"
    )
    assert one.body["extension"]["name"] == "Agents"
    missing = await gw.rest("extensions.GetExtension", id="nope", path="/v2.1/extensions/nope")
    assert missing.status == 404
