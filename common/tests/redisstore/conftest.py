"""The store under test: the in-process one and one on a throwaway Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from novamesh.common.redisstore import Store, open_store

from tests.support import redis


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not redis.available():
        pytest.fail("redis-server is not installed: run tools/install-test-deps.sh")
    with redis.running(Path(tmp_path_factory.mktemp("redis"))) as server:
        yield server.url


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    s = open_store(url, consumer="test-a")
    try:
        yield s
    finally:
        await s.close()
