"""POST /servers end to end inside the gateway: validation, records, router call, undo."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from novamesh.cells.v1 import router_pb2
from novamesh.common.apidb import models
from novamesh.gateway.testing.harness import Gateway, running
from novamesh.scheduler.v1 import request_spec_pb2


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        await gateway.add_flavor("1", "m1.tiny", extra_specs={"hw:numa_nodes": "1"})
        yield gateway


def _server(image: str, **extra: Any) -> dict[str, Any]:
    return {"server": {"name": "new-server-test", "imageRef": image, "flavorRef": "1", **extra}}


async def _records(gw: Gateway) -> tuple[int, int, int]:
    return (
        await gw.count(models.BuildRequest),
        await gw.count(models.RequestSpec),
        await gw.count(models.InstanceMapping),
    )


async def test_create_records_and_builds(gw: Gateway) -> None:
    image = await gw.add_image()
    body = _server(image, metadata={"My Server Name": "Apache1"})
    body["OS-SCH-HNT:scheduler_hints"] = {"same_host": "48e6a9f6-30af-47e0-bc04-acaed113bb4e"}
    resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=body, token="alice:p1")
    assert resp.status == 202, resp.message
    server = resp.body["server"]
    assert set(server) == {"id", "links", "OS-DCF:diskConfig", "security_groups", "adminPass"}
    assert server["OS-DCF:diskConfig"] == "AUTO"  # from the image's auto_disk_config
    assert server["security_groups"] == [{"name": "default"}]
    assert resp.headers["location"] == f"http://api.example.com:8774/v2.1/servers/{server['id']}"
    assert server["links"][0]["href"] == resp.headers["location"]
    assert resp.headers["openstack-api-version"] == "compute 2.1"
    assert resp.headers["x-openstack-request-id"].startswith("req-")
    assert resp.headers["x-compute-request-id"] == resp.headers["x-openstack-request-id"]
    assert await _records(gw) == (1, 1, 1)
    (build,) = gw.router.builds
    (inst,) = build.instances
    assert inst.uuid == server["id"]
    assert (inst.project_id, inst.user_id) == ("p1", "alice")
    assert (inst.vm_state, inst.task_state) == ("building", "scheduling")
    assert build.admin_passwords[inst.uuid] == server["adminPass"]
    assert build.spec.flavor.extra_specs["hw:numa_nodes"] == "1"
    assert list(build.spec.scheduler_hints["same_host"].values) == [
        "48e6a9f6-30af-47e0-bc04-acaed113bb4e"
    ]
    # The identity reached the router in the call metadata.
    md = gw.router.metadata[gw.router.calls.index("BuildInstances")]
    assert (md["x-novamesh-user-id"], md["x-novamesh-project-id"]) == ("alice", "p1")
    # What was recorded is what was sent.
    async with gw.sessions() as session:
        from sqlalchemy import select

        rec = await session.scalar(select(models.BuildRequest))
        spec = await session.scalar(select(models.RequestSpec))
    assert rec is not None and spec is not None
    assert router_pb2.Instance.FromString(rec.instance).uuid == inst.uuid
    assert request_spec_pb2.RequestSpec.FromString(spec.spec).num_instances == 1


async def test_router_failure_undoes_records(gw: Gateway) -> None:
    image = await gw.add_image()
    gw.router.fail_build = grpc.StatusCode.UNAVAILABLE
    resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=_server(image))
    assert resp.status == 503
    assert await _records(gw) == (0, 0, 0)


@pytest.mark.parametrize(
    ("mutate", "status", "message"),
    [
        (lambda b: b["server"].update(bogus=1), 400, "Additional properties are not allowed"),
        (lambda b: b.update(extra=1), 400, "Additional properties are not allowed"),
        (lambda b: b["server"].pop("name"), 400, "'name' is a required property"),
        (lambda b: b["server"].update(flavorRef="42"), 400, "Flavor 42 could not be found."),
        (
            lambda b: b["server"].update(imageRef="70a599e0-31e7-49b7-b260-868f441e862b"),
            400,
            "Image 70a599e0-31e7-49b7-b260-868f441e862b could not be found.",
        ),
        (lambda b: b["server"].update(key_name="nope"), 400, "Invalid key_name provided."),
        (lambda b: b["server"].update(min_count=3, max_count=2), 400, "min_count must be <="),
        (
            lambda b: b["server"].update(networks=[{"uuid": "not-a-uuid"}]),
            400,
            "Bad networks format",
        ),
        (lambda b: b["server"].update(name=" lead"), 400, "Invalid input for field/attribute"),
    ],
)
async def test_bad_input_writes_nothing(
    gw: Gateway, mutate: Any, status: int, message: str
) -> None:
    image = await gw.add_image()
    body = _server(image)
    mutate(body)
    resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=body)
    assert resp.status == status
    assert message in resp.message
    assert await _records(gw) == (0, 0, 0)
    assert gw.router.builds == []
    # Faults carry the version headers too.
    assert resp.headers["openstack-api-version"] == "compute 2.1"


async def test_malformed_json(gw: Gateway) -> None:
    resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", raw=b"{not json")
    assert (resp.status, resp.message) == (400, "Malformed request body")


async def test_networks_required_from_237(gw: Gateway) -> None:
    image = await gw.add_image()
    resp = await gw.rest(
        "servers.CreateServer", path="/v2.1/servers", body=_server(image), version="2.37"
    )
    assert resp.status == 400 and "'networks' is a required property" in resp.message
    resp = await gw.rest(
        "servers.CreateServer",
        path="/v2.1/servers",
        body=_server(image, networks="none"),
        version="2.37",
    )
    assert resp.status == 202


async def test_multi_create_and_reservation_id(gw: Gateway) -> None:
    image = await gw.add_image()
    resp = await gw.rest(
        "servers.CreateServer",
        path="/v2.1/servers",
        body=_server(image, min_count=2, max_count=3, return_reservation_id=True),
    )
    assert resp.status == 202
    assert set(resp.body) == {"reservation_id"}
    assert resp.body["reservation_id"].startswith("r-")
    names = sorted(i.name for i in gw.router.builds[0].instances)
    assert names == ["new-server-test-1", "new-server-test-2", "new-server-test-3"]
    assert await _records(gw) == (3, 3, 3)


async def test_inactive_image_and_small_flavor(gw: Gateway) -> None:
    queued = await gw.add_image(status="queued")
    resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=_server(queued))
    assert (resp.status, resp.message) == (400, f"Image {queued} is not active.")
    big = await gw.add_image(min_ram=4096)
    resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=_server(big))
    assert resp.message == "Flavor's memory is too small for requested image."


async def test_forced_host_needs_admin(gw: Gateway) -> None:
    image = await gw.add_image()
    body = _server(image, availability_zone="nova:fake-host-2")
    resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=body, token="bob:p2")
    assert resp.status == 403
    resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=body, token="admin")
    assert resp.status == 202
    assert gw.router.builds[0].spec.requested_destination.host == "fake-host-2"


async def test_db_round_trips_of_a_boot(gw: Gateway) -> None:
    """A boot reads flavor (+ its two selectin collections), image, keypair, then one write
    transaction for all instances; the count does not grow with max_count."""
    image = await gw.add_image()
    async with gw.sessions() as session, session.begin():
        session.add(
            models.KeyPair(name="k", user_id="admin", fingerprint="f", public_key="ssh-rsa")
        )

    async def statements(count: int) -> list[str]:
        gw.statements.clear()
        body = _server(image, key_name="k", min_count=count, max_count=count)
        resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=body)
        assert resp.status == 202
        return [s.split()[0] for s in gw.statements]

    one = await statements(1)
    # flavor, extra specs, projects, image, keypair; quota limits (class, project + user),
    # usage before and the recheck after recording.
    assert one.count("SELECT") == 9
    # One transaction writes every record: three INSERTs per instance, no extra reads.
    assert one.count("INSERT") == 3
    many = await statements(4)
    assert many.count("SELECT") == 9


async def test_db_round_trips_of_reads(gw: Gateway) -> None:
    """GET, list, actions and delete of servers touch the router only, never the API DB."""
    image = await gw.add_image()
    resp = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=_server(image))
    sid = resp.body["server"]["id"]
    gw.statements.clear()
    await gw.rest("servers.GetServer", id=sid, path=f"/v2.1/servers/{sid}")
    await gw.rest("servers.ListServersDetail", path="/v2.1/servers/detail")
    await gw.rest(
        "servers.ServerAction", id=sid, path=f"/v2.1/servers/{sid}/action", body={"os-stop": None}
    )
    await gw.rest("servers.DeleteServer", id=sid, path=f"/v2.1/servers/{sid}")
    assert gw.statements == []
