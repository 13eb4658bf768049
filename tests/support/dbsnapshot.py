"""Every row of every database of a mesh, to prove that a request changed nothing."""

from __future__ import annotations

from typing import Any

from novamesh.common import db
from sqlalchemy import MetaData, select, text

from tests.support.mesh import Mesh

# Rows the agents' heartbeats and resource reports rewrite on their own, with no request.
LIVE_TABLES = {"services", "compute_nodes"}


def database_urls(mesh: Mesh) -> dict[str, str]:
    cfg = mesh.cfg
    urls = {
        "api": cfg.expand(cfg.database.api_url),
        "placement": cfg.expand(cfg.database.placement_url),
    }
    engine = db.create_sync_engine(urls["api"])
    try:
        with engine.connect() as conn:
            for name, url in conn.execute(
                text("SELECT name, database_connection FROM cell_mappings")
            ):
                urls[f"cell:{name}"] = url
    finally:
        engine.dispose()
    return urls


def snapshot(mesh: Mesh) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    result: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for name, url in database_urls(mesh).items():
        engine = db.create_sync_engine(url)
        try:
            meta = MetaData()
            meta.reflect(engine)
            tables: dict[str, list[tuple[Any, ...]]] = {}
            with engine.connect() as conn:
                for table in meta.sorted_tables:
                    if table.name in LIVE_TABLES or table.name == "alembic_version":
                        continue
                    rows = conn.execute(select(table)).all()
                    tables[table.name] = sorted((tuple(r) for r in rows), key=repr)
            result[name] = tables
        finally:
            engine.dispose()
    return result
