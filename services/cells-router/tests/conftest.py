"""A throwaway Redis for the router tests that need one (started on first use)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import redis


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not redis.available():
        pytest.fail("redis-server is not installed: run tools/install-test-deps.sh")
    with redis.running(Path(tmp_path_factory.mktemp("redis"))) as server:
        yield server.url
