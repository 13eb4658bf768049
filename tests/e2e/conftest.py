"""End-to-end fixtures: the whole mesh (real Envoy, five services, a fake agent), on SQLite and on
a throwaway PostgreSQL. One mesh per backend per test session; tests share it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import postgres
from tests.support.mesh import Mesh, start_mesh

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session", params=BACKENDS)
def mesh(request: pytest.FixtureRequest) -> Iterator[Mesh]:
    state = Path(tempfile.mkdtemp(prefix=f"novamesh-e2e-{request.param}-"))
    cluster: postgres.PostgresCluster | None = None
    db_urls: dict[str, str] = {}
    if request.param == "postgresql":
        if not postgres.available():
            pytest.fail("PostgreSQL is not installed: run tools/install-test-deps.sh")
        cluster = postgres.PostgresCluster()
        cluster.start()
        for name in ("api", "placement", "cell0", "cell1"):
            db_urls[f"{name}_url"] = cluster.create_database(f"novamesh_{name}")
    try:
        mesh = start_mesh(state / "state", db_urls=db_urls)
    except Exception:
        if cluster is not None:
            cluster.stop()
        raise
    try:
        yield mesh
    finally:
        mesh.stop()
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(state, ignore_errors=True)
