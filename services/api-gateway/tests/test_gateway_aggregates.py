"""os-aggregates (admin only; uuid from 2.41; zones as metadata; 2.81 image caching accepted, as
Nova does for drivers without a cache) and os-availability-zone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from novamesh.cells.v1 import services_pb2
from novamesh.common import db
from novamesh.common.apidb import models
from novamesh.compute.v1 import api_aggregates_pb2_grpc
from novamesh.gateway.testing.harness import Gateway, Response, running

PATH = "/v2.1/os-aggregates"


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        gateway.stubs["aggs"] = api_aggregates_pb2_grpc.AggregatesRestServiceStub(gateway.channel)
        gateway.stubs["azs"] = api_aggregates_pb2_grpc.AvailabilityZonesRestServiceStub(
            gateway.channel
        )
        async with db.transaction(gateway.sessions) as session:
            cell = models.CellMapping(
                uuid="c1", name="cell1", transport_url="x", database_connection="y"
            )
            session.add(cell)
            await session.flush()
            for host in ("host1", "host2", "host3"):
                session.add(models.HostMapping(host=host, cell_id=cell.id))
        yield gateway


async def action(gw: Gateway, agg_id: int, body: Any, version: str = "2.1") -> Response:
    return await gw.rest(
        "aggs.AggregateAction", id=str(agg_id), path=f"{PATH}/{agg_id}/action", body=body,
        version=version,
    )  # fmt: skip


async def make(gw: Gateway, name: str, zone: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    if zone is not None:
        body["availability_zone"] = zone
    resp = await gw.rest("aggs.CreateAggregate", path=PATH, body={"aggregate": body})
    assert resp.status == 200, resp.message
    return dict(resp.body["aggregate"])


async def test_lifecycle(gw: Gateway) -> None:
    made = await make(gw, "name", "london")
    assert set(made) == {
        "availability_zone", "created_at", "deleted", "deleted_at", "id", "name", "updated_at",
    }  # fmt: skip
    assert made["availability_zone"] == "london"
    added = await action(gw, made["id"], {"add_host": {"host": "host1"}}, "2.41")
    assert added.body["aggregate"]["hosts"] == ["host1"]
    assert added.body["aggregate"]["metadata"] == {"availability_zone": "london"}
    assert len(added.body["aggregate"]["uuid"]) == 36
    meta = await action(gw, made["id"], {"set_metadata": {"metadata": {"key": "value"}}})
    assert meta.body["aggregate"]["metadata"] == {"availability_zone": "london", "key": "value"}
    unset = await action(gw, made["id"], {"set_metadata": {"metadata": {"key": None}}})
    assert unset.body["aggregate"]["metadata"] == {"availability_zone": "london"}
    put = await gw.rest(
        "aggs.UpdateAggregate", id=str(made["id"]), path=f"{PATH}/{made['id']}",
        body={"aggregate": {"name": "newname", "availability_zone": "nova2"}},
    )  # fmt: skip
    assert put.body["aggregate"]["name"] == "newname"
    assert put.body["aggregate"]["availability_zone"] == "nova2"
    listed = await gw.rest("aggs.ListAggregates", path=PATH)
    assert [a["name"] for a in listed.body["aggregates"]] == ["newname"]
    busy = await gw.rest("aggs.DeleteAggregate", id=str(made["id"]), path=f"{PATH}/{made['id']}")
    assert busy.status == 400 and "not empty" in busy.message
    removed = await action(gw, made["id"], {"remove_host": {"host": "host1"}})
    assert removed.body["aggregate"]["hosts"] == []
    gone = await gw.rest("aggs.DeleteAggregate", id=str(made["id"]), path=f"{PATH}/{made['id']}")
    assert gone.status == 200
    missing = await gw.rest("aggs.GetAggregate", id=str(made["id"]), path=f"{PATH}/{made['id']}")
    assert (missing.status, missing.message) == (
        404,
        f"Aggregate {made['id']} could not be found.",
    )


async def test_errors(gw: Gateway) -> None:
    agg = await make(gw, "a", "az1")
    other = await make(gw, "b", "az2")
    dup = await gw.rest("aggs.CreateAggregate", path=PATH, body={"aggregate": {"name": "a"}})
    assert (dup.status, dup.message) == (409, "Aggregate a already exists.")
    unknown = await action(gw, agg["id"], {"add_host": {"host": "nohost"}})
    assert (unknown.status, unknown.message) == (404, "Compute host nohost could not be found.")
    await action(gw, agg["id"], {"add_host": {"host": "host1"}})
    twice = await action(gw, agg["id"], {"add_host": {"host": "host1"}})
    assert twice.status == 409
    # A host is in one zone only.
    clash = await action(gw, other["id"], {"add_host": {"host": "host1"}})
    assert clash.status == 400 and "['az1']" in clash.message
    not_there = await action(gw, agg["id"], {"remove_host": {"host": "host2"}})
    assert (not_there.status, not_there.message) == (
        404,
        f"Aggregate {agg['id']} has no host host2.",
    )
    bad = await action(gw, agg["id"], {"explode": {}})
    assert bad.status == 400
    extra = await gw.rest("aggs.CreateAggregate", path=PATH, body={"aggregate": {"x": 1}})
    assert extra.status == 400
    member = await gw.rest("aggs.ListAggregates", path=PATH, token="alice:p1")
    assert member.status == 403


async def test_image_cache_is_refused_with_a_reason(gw: Gateway) -> None:
    agg = await make(gw, "a")
    body = {"cache": [{"id": "70a599e0-31e7-49b7-b260-868f441e862b"}]}
    path = f"{PATH}/{agg['id']}/images"
    old = await gw.rest("aggs.CacheImages", id=str(agg["id"]), path=path, body=body, version="2.80")
    assert old.status == 404
    resp = await gw.rest(
        "aggs.CacheImages", id=str(agg["id"]), path=path, body=body, version="2.81"
    )
    assert resp.status == 202, resp.message
    gone = await gw.rest("aggs.CacheImages", id="999", path=f"{PATH}/999/images", body=body,
                         version="2.81")  # fmt: skip
    assert gone.status == 404
    bad = await gw.rest(
        "aggs.CacheImages", id=str(agg["id"]), path=path, body={"cache": []}, version="2.81"
    )
    assert bad.status == 400


async def test_availability_zones(gw: Gateway) -> None:
    assert gw.services is not None
    gw.services.services.extend(
        [
            services_pb2.ComputeService(binary="nova-conductor", host="ctl", up=True),
            services_pb2.ComputeService(binary="nova-scheduler", host="ctl", disabled=True),
            services_pb2.ComputeService(binary="nova-compute", host="host1", up=True),
            services_pb2.ComputeService(binary="nova-compute", host="host3", up=False),
        ]
    )
    agg = await make(gw, "a", "london")
    await action(gw, agg["id"], {"add_host": {"host": "host2"}})
    await make(gw, "empty", "paris")
    listed = await gw.rest("azs.ListAvailabilityZones", path="/v2.1/os-availability-zone",
                           token="alice:p1")  # fmt: skip
    zones = listed.body["availabilityZoneInfo"]
    assert [(z["zoneName"], z["hosts"]) for z in zones] == [("london", None), ("nova", None)]
    detail = await gw.rest(
        "azs.ListAvailabilityZonesDetail", path="/v2.1/os-availability-zone/detail"
    )
    by_name = {z["zoneName"]: z for z in detail.body["availabilityZoneInfo"]}
    assert set(by_name) == {"internal", "london", "nova"}
    assert set(by_name["nova"]["hosts"]) == {"host1", "host3"}
    assert by_name["london"]["hosts"]["host2"]["nova-compute"]["available"] is True
    assert by_name["internal"]["hosts"] == {
        "ctl": {
            "nova-conductor": {"available": True, "active": True, "updated_at": None},
            "nova-scheduler": {"available": False, "active": False, "updated_at": None},
        }
    }
    assert by_name["nova"]["hosts"]["host3"]["nova-compute"]["available"] is False
    member = await gw.rest(
        "azs.ListAvailabilityZonesDetail", path="/v2.1/os-availability-zone/detail",
        token="alice:p1",
    )  # fmt: skip
    assert member.status == 403
