"""The migration views per microversion: the keys upstream's os-migrations and
server-migrations samples show (their values are records upstream's tests write into the
database, so the contract suite cannot replay them)."""

from __future__ import annotations

import pytest
from google.protobuf import timestamp_pb2
from novamesh.cells.v1 import actions_pb2
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.microversion import parse
from novamesh.gateway.api.query import Query
from novamesh.gateway.rest import server_records
from novamesh.gateway.rest.call import Call
from novamesh.gateway.views import server_records as view
from novamesh.gateway.views.common import ViewContext

BASE = "http://api.example.com:8774"
V21 = {
    "created_at", "dest_compute", "dest_host", "dest_node", "id", "instance_uuid",
    "new_instance_type_id", "old_instance_type_id", "source_compute", "source_node", "status",
    "updated_at",
}  # fmt: skip


def migration(kind: str = "resize", status: str = "finished") -> actions_pb2.Migration:
    ts = timestamp_pb2.Timestamp(seconds=1_454_067_722)
    return actions_pb2.Migration(
        id=7,
        uuid="12341d4b-346a-40d0-83c6-5f4f6892b650",
        instance_uuid="8600d31b-d1a1-4632-b2ff-45c2be1a70ff",
        source_compute="compute1",
        source_node="node1",
        dest_compute="compute2",
        dest_node="node2",
        dest_host="compute2",
        status=status,
        migration_type=kind,
        old_flavor_id="1",
        new_flavor_id="2",
        user_id="u1",
        project_id="p1",
        created_at=ts,
        updated_at=ts,
    )


def ctx(version: str) -> ViewContext:
    return ViewContext(version=parse(version), base_url=BASE, is_admin=True, project_id="p1")


@pytest.mark.parametrize(
    ("version", "keys"),
    [
        ("2.1", V21),
        ("2.22", V21),
        ("2.23", V21 | {"migration_type"}),
        ("2.59", V21 | {"migration_type", "uuid"}),
        ("2.80", V21 | {"migration_type", "uuid", "user_id", "project_id"}),
    ],
)
def test_os_migrations_keys_per_microversion(version: str, keys: set[str]) -> None:
    out = view.migration(ctx(version), migration())
    assert set(out) == keys
    assert out["created_at"] == "2016-01-29T11:42:02.000000"
    assert (out["old_instance_type_id"], out["new_instance_type_id"]) == (1, 2)


def test_a_running_live_migration_links_to_its_server_migration_from_2_23() -> None:
    live = migration("live-migration", "running")
    assert "links" not in view.migration(ctx("2.22"), live)
    out = view.migration(ctx("2.23"), live)
    server = live.instance_uuid
    assert out["links"] == [
        {"href": f"{BASE}/v2.1/servers/{server}/migrations/7", "rel": "self"},
        {"href": f"{BASE}/servers/{server}/migrations/7", "rel": "bookmark"},
    ]
    # a finished one has nothing to show any more
    assert "links" not in view.migration(ctx("2.23"), migration("live-migration", "completed"))


SERVER_MIGRATION_223 = {
    "created_at", "dest_compute", "dest_host", "dest_node", "id", "server_uuid",
    "source_compute", "source_node", "status", "updated_at",
    "memory_total_bytes", "memory_processed_bytes", "memory_remaining_bytes",
    "disk_total_bytes", "disk_processed_bytes", "disk_remaining_bytes",
}  # fmt: skip


@pytest.mark.parametrize(
    ("version", "keys"),
    [
        ("2.23", SERVER_MIGRATION_223),
        ("2.59", SERVER_MIGRATION_223 | {"uuid"}),
        ("2.80", SERVER_MIGRATION_223 | {"uuid", "user_id", "project_id"}),
    ],
)
def test_server_migration_keys_per_microversion(version: str, keys: set[str]) -> None:
    call = Call(
        version=parse(version),
        who=Identity("admin", "p1", ("admin",)),
        request_id="req-1",
        query=Query(),
        base_url=BASE,
    )
    live = migration("live-migration", "running")
    out = server_records._server_migration(call, live)
    assert set(out) == keys
    assert out["server_uuid"] == live.instance_uuid


def test_server_migration_shows_the_reported_progress_and_null_before() -> None:
    call = Call(
        version=parse("2.23"),
        who=Identity("admin", "p1", ("admin",)),
        request_id="req-1",
        query=Query(),
        base_url=BASE,
    )
    live = migration("live-migration", "running")
    before = server_records._server_migration(call, live)
    assert before["memory_total_bytes"] is None and before["disk_remaining_bytes"] is None
    live.memory_total_bytes, live.memory_processed_bytes = 123456, 12345
    live.memory_remaining_bytes, live.disk_total_bytes = 111111, 0
    out = server_records._server_migration(call, live)
    assert (out["memory_total_bytes"], out["memory_processed_bytes"]) == (123456, 12345)
    assert (out["memory_remaining_bytes"], out["disk_total_bytes"]) == (111111, 0)
    assert out["disk_processed_bytes"] is None
