"""A placement server on a free port over a fresh database per test: SQLite, and PostgreSQL
(one throwaway cluster per session, one database per test)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from novamesh.common import db
from novamesh.placement.db import MIGRATIONS
from novamesh.placement.main import open_store
from novamesh.placement.objects.store import Store
from novamesh.placement.typed import PlacementServicer
from novamesh.placement.v1 import placement_pb2_grpc as pbg

from tests.support import postgres


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[postgres.PostgresCluster]:
    if not postgres.available():
        pytest.fail("PostgreSQL is not installed: run tools/install-test-deps.sh")
    cluster = postgres.PostgresCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "postgresql":
        cluster: postgres.PostgresCluster = request.getfixturevalue("pg_cluster")
        url = cluster.create_database(f"placement_{uuid.uuid4().hex[:12]}")
        # open_store migrates only SQLite (PostgreSQL is novamesh-manage's job).
        await asyncio.to_thread(db.migrate, url, MIGRATIONS)
    else:
        url = f"sqlite:///{tmp_path}/placement.db"
    s = await open_store(url)
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
