"""A placement server on a free port over a fresh SQLite database, per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from novamesh.placement.main import open_store
from novamesh.placement.objects.store import Store
from novamesh.placement.typed import PlacementServicer
from novamesh.placement.v1 import placement_pb2_grpc as pbg


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await open_store(f"sqlite:///{tmp_path}/placement.db")
    try:
        yield s
    finally:
        await s.engine.dispose()


@pytest.fixture
async def stub(store: Store) -> AsyncIterator[pbg.PlacementServiceAsyncStub]:
    server = grpc.aio.server()
    pbg.add_PlacementServiceServicer_to_server(PlacementServicer(store), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield pbg.PlacementServiceStub(channel)
    finally:
        await server.stop(None)
