"""Upstream's gabbi stories through real Envoy, a subset on SQLite and on PostgreSQL: no file may
pass fewer tests than gabbi_baseline.json records. `make gabbi` runs all 79 files (minutes)."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.placement import gabbi_runner
from tests.support import postgres

pytestmark = pytest.mark.e2e

# Nested and sharing candidates, granular groups, consumer generations and reshaping (all-or-
# nothing writes), with the fixtures recreated through the API: few files, much of the API.
SUBSET = [
    "allocation-candidates.yaml",
    "granular.yaml",
    "allocations-1.28.yaml",
    "reshaper.yaml",
    # The edge's part: HTML errors for a browser, CORS as oslo.middleware, raw HTTP oddities.
    "basic-http.yaml",
    "bug-1674694.yaml",
    "cors.yaml",
]


@pytest.fixture(scope="module")
def files() -> list[Path]:
    if not gabbi_runner.GABBITS.is_dir():
        pytest.skip(f"upstream's gabbi files are not at {gabbi_runner.GABBITS}")
    return [gabbi_runner.GABBITS / name for name in SUBSET]


@pytest.fixture
def work() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="gabbi-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def check(results: list[dict[str, object]]) -> None:
    baseline = json.loads(gabbi_runner.BASELINE.read_text())
    assert not [r for r in results if r.get("error")], results
    assert gabbi_runner.regressions(results, baseline) == []


def test_gabbi_subset_sqlite(files: list[Path], work: Path) -> None:
    check(gabbi_runner.run(files, work))


def test_gabbi_subset_postgresql(files: list[Path], work: Path) -> None:
    if not postgres.available():
        pytest.fail("PostgreSQL is not installed: run tools/install-test-deps.sh")
    cluster = postgres.PostgresCluster()
    cluster.start()
    try:
        results = gabbi_runner.run(
            files, work, lambda _: cluster.create_database(f"gabbi_{uuid.uuid4().hex[:12]}")
        )
    finally:
        cluster.stop()
    check(results)
