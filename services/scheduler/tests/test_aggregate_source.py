"""Aggregates read from a real (SQLite) API database into the host-state view."""

from __future__ import annotations

from pathlib import Path

from novamesh.common import apidb, db
from novamesh.common.apidb import models
from novamesh.scheduler.aggregate_source import AggregateSource
from novamesh.scheduler.fakes import host_report
from novamesh.scheduler.host_state import HostStateStore


async def test_aggregates_reach_the_hosts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/api.db"
    db.migrate(url, apidb.MIGRATIONS)
    engine = db.create_async_engine(url)
    try:
        factory = db.sessionmaker(engine)
        async with db.transaction(factory) as session:
            agg = models.Aggregate(uuid="agg-1", name="fast")
            agg.hosts = [models.AggregateHost(host="host1")]
            agg.metadata_items = [
                models.AggregateMetadata(key="availability_zone", value="az1"),
                models.AggregateMetadata(key="ssd", value="true"),
            ]
            session.add(agg)
        store = HostStateStore()
        store.update(host_report(0))
        store.update(host_report(1))
        source = AggregateSource(factory, store, interval=60)
        await source.refresh()
        [aggregate] = store.by_host("host1")[0].aggregates
        assert aggregate.uuid == "agg-1"
        assert aggregate.availability_zone == "az1"
        assert aggregate.metadata["ssd"] == "true"
        assert store.by_host("host0")[0].aggregates == []
    finally:
        await engine.dispose()
