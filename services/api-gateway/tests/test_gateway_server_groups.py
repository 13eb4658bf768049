"""os-server-groups: policies per microversion (2.15 soft, 2.64 policy + rules), ownership,
all_projects, and boots that name a group."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from novamesh.common.apidb import models
from novamesh.compute.v1 import api_server_groups_pb2_grpc
from novamesh.gateway.api.errors import Forbidden
from novamesh.gateway.clients.router import GrpcRouter
from novamesh.gateway.db import records
from novamesh.gateway.domain import server_groups
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.testing.harness import Gateway, Response, running

PATH = "/v2.1/os-server-groups"


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        gateway.stubs["groups"] = api_server_groups_pb2_grpc.ServerGroupsRestServiceStub(
            gateway.channel
        )
        yield gateway


async def create(gw: Gateway, body: Any, version: str = "2.1", token: str = "alice:p1") -> Response:
    return await gw.rest(
        "groups.CreateServerGroup", path=PATH, body=body, version=version, token=token
    )


async def test_create_show_list_delete_before_2_64(gw: Gateway) -> None:
    made = await create(gw, {"server_group": {"name": "test", "policies": ["anti-affinity"]}})
    assert made.status == 200, made.message
    group = made.body["server_group"]
    assert group["policies"] == ["anti-affinity"] and group["metadata"] == {}
    assert set(group) == {"id", "name", "policies", "members", "metadata"}
    shown = await gw.rest(
        "groups.GetServerGroup", id=group["id"], path=f"{PATH}/{group['id']}", version="2.13",
        token="alice:p1",
    )  # fmt: skip
    assert shown.body["server_group"]["project_id"] == "p1"
    assert shown.body["server_group"]["user_id"] == "alice"
    listed = await gw.rest("groups.ListServerGroups", path=PATH, token="alice:p1")
    assert [g["id"] for g in listed.body["server_groups"]] == [group["id"]]
    other = await gw.rest("groups.ListServerGroups", path=PATH, token="bob:p2")
    assert other.body["server_groups"] == []
    hidden = await gw.rest(
        "groups.GetServerGroup", id=group["id"], path=f"{PATH}/{group['id']}", token="bob:p2"
    )
    assert (hidden.status, hidden.message) == (
        404,
        f"Instance group {group['id']} could not be found.",
    )
    everyone = await gw.rest("groups.ListServerGroups", path=f"{PATH}?all_projects=True")
    assert len(everyone.body["server_groups"]) == 1
    gone = await gw.rest(
        "groups.DeleteServerGroup", id=group["id"], path=f"{PATH}/{group['id']}", token="alice:p1"
    )
    assert gone.status == 204
    again = await gw.rest(
        "groups.DeleteServerGroup", id=group["id"], path=f"{PATH}/{group['id']}", token="alice:p1"
    )
    assert again.status == 404


@pytest.mark.parametrize(
    ("version", "body", "status"),
    [
        ("2.1", {"name": "g", "policies": ["soft-affinity"]}, 400),
        ("2.15", {"name": "g", "policies": ["soft-affinity"]}, 200),
        ("2.15", {"name": "g", "policies": ["affinity", "anti-affinity"]}, 400),
        ("2.15", {"name": "g", "policy": "affinity"}, 400),
        ("2.64", {"name": "g", "policies": ["affinity"]}, 400),
        ("2.64", {"name": "g", "policy": "soft-anti-affinity"}, 200),
        (
            "2.64",
            {"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 3}},
            200,
        ),
        (
            "2.64",
            {"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 0}},
            400,
        ),
        ("2.64", {"name": "g", "policy": "affinity", "rules": {"max_server_per_host": 2}}, 400),
        ("2.64", {"name": "g", "policy": "anti-affinity", "rules": {"other": 2}}, 400),
        ("2.64", {"name": " g", "policy": "affinity"}, 400),
        ("2.64", {"name": "g", "policy": "affinity", "extra": 1}, 400),
    ],
)
async def test_policies_per_microversion(
    gw: Gateway, version: str, body: dict[str, Any], status: int
) -> None:
    resp = await create(gw, {"server_group": body}, version)
    assert resp.status == status, resp.message


async def test_2_64_shape_and_rules(gw: Gateway) -> None:
    body = {"name": "test", "policy": "anti-affinity", "rules": {"max_server_per_host": "3"}}
    made = await create(gw, {"server_group": body}, "2.64")
    group = made.body["server_group"]
    assert set(group) == {"id", "name", "policy", "rules", "members", "project_id", "user_id"}
    assert group["rules"] == {"max_server_per_host": 3}
    plain = await create(gw, {"server_group": {"name": "t", "policy": "affinity"}}, "2.64")
    assert plain.body["server_group"]["rules"] == {}


async def test_unknown_query_parameters_from_2_75(gw: Gateway) -> None:
    resp = await gw.rest("groups.ListServerGroups", path=f"{PATH}?foo=1", version="2.75")
    assert resp.status == 400
    old = await gw.rest("groups.ListServerGroups", path=f"{PATH}?foo=1", version="2.74")
    assert old.status == 200


async def test_boot_into_a_group_adds_members_and_fills_the_spec(gw: Gateway) -> None:
    await gw.add_flavor("1", "m1.tiny")
    image = await gw.add_image()
    body = {"server_group": {"name": "g", "policy": "anti-affinity", "rules": {}}}
    group = (await create(gw, body, "2.64")).body["server_group"]
    server = {
        "server": {"name": "vm", "imageRef": image, "flavorRef": "1", "max_count": 2},
        "os:scheduler_hints": {"group": group["id"]},
    }
    boot = await gw.rest(
        "servers.CreateServer", path="/v2.1/servers", body=server, token="alice:p1"
    )
    assert boot.status == 202, boot.message
    (build,) = gw.router.builds
    assert build.spec.instance_group.uuid == group["id"]
    assert build.spec.instance_group.policy == "anti-affinity"
    uuids = [i.uuid for i in build.instances]
    shown = await gw.rest(
        "groups.GetServerGroup", id=group["id"], path=f"{PATH}/{group['id']}", token="alice:p1"
    )
    assert shown.body["server_group"]["members"] == uuids
    # The next boot tells the scheduler about the members already there.
    server["server"]["max_count"] = 1
    await gw.rest("servers.CreateServer", path="/v2.1/servers", body=server, token="alice:p1")
    assert set(gw.router.builds[1].spec.instance_group.members) == set(uuids)
    # 2.71: the server shows its group.
    srv = await gw.rest(
        "servers.GetServer", id=uuids[0], path=f"/v2.1/servers/{uuids[0]}", version="2.71",
        token="alice:p1",
    )  # fmt: skip
    assert srv.body["server"]["server_groups"] == [group["id"]], srv.message
    # A deleted group's servers no longer name it (Nova reads the membership, gone with it).
    gone = await gw.rest(
        "groups.DeleteServerGroup", id=group["id"], path=f"{PATH}/{group['id']}", token="alice:p1"
    )
    assert gone.status == 204, gone.message
    srv = await gw.rest(
        "servers.GetServer", id=uuids[0], path=f"/v2.1/servers/{uuids[0]}", version="2.71",
        token="alice:p1",
    )  # fmt: skip
    assert srv.body["server"]["server_groups"] == [], srv.message


async def test_boot_into_an_unknown_group_is_400(gw: Gateway) -> None:
    await gw.add_flavor("1", "m1.tiny")
    image = await gw.add_image()
    missing = "5bbcc3c4-1da2-4437-a48a-66f15b1b13f9"
    server = {
        "server": {"name": "vm", "imageRef": image, "flavorRef": "1"},
        "os:scheduler_hints": {"group": missing},
    }
    boot = await gw.rest("servers.CreateServer", path="/v2.1/servers", body=server)
    assert (boot.status, boot.message) == (400, f"Instance group {missing} could not be found.")
    assert gw.router.builds == []


async def test_quotas_for_groups_and_members(gw: Gateway) -> None:
    gw.cfg.quota.server_groups = 1
    gw.cfg.quota.server_group_members = 2
    body = {"server_group": {"name": "g", "policy": "anti-affinity"}}
    group = (await create(gw, body, "2.64")).body["server_group"]
    over = await create(gw, body, "2.64")
    assert (over.status, over.message) == (403, "Quota exceeded, too many server groups.")
    await gw.add_flavor("1", "m1.tiny")
    image = await gw.add_image()
    server = {
        "server": {"name": "vm", "imageRef": image, "flavorRef": "1", "max_count": 3},
        "os:scheduler_hints": {"group": group["id"]},
    }
    boot = await gw.rest(
        "servers.CreateServer", path="/v2.1/servers", body=server, token="alice:p1"
    )
    assert boot.status == 403
    assert boot.message == f"Quota exceeded, too many servers in group {group['id']}"
    assert gw.router.builds == []
    server["server"]["max_count"] = 2
    boot = await gw.rest(
        "servers.CreateServer", path="/v2.1/servers", body=server, token="alice:p1"
    )
    assert boot.status == 202, boot.message


async def test_members_over_quota_after_a_race_are_undone(gw: Gateway) -> None:
    """Two boots that both passed the first check: the one that joins second gives way."""
    gw.cfg.quota.server_group_members = 1
    group = (await create(gw, {"server_group": {"name": "g", "policies": ["affinity"]}})).body
    group_id = group["server_group"]["id"]
    router = GrpcRouter(gw.cfg.endpoints.router)
    deps = Deps(gw.cfg, gw.sessions, router)
    racers = []
    for _ in range(2):
        uuid = str(uuidlib.uuid4())
        build = records.BuildRecord(uuid, "p1", "alice", b"", b"")
        await records.record_builds(gw.sessions, [build])
        racers.append(uuid)
    await server_groups.add_members(deps, group_id, racers[:1])
    with pytest.raises(Forbidden):
        await server_groups.add_members(deps, group_id, racers[1:])
    assert await gw.count(models.BuildRequest) == 1
    shown = await gw.rest(
        "groups.GetServerGroup", id=group_id, path=f"{PATH}/{group_id}", token="alice:p1"
    )
    assert shown.body["server_group"]["members"] == racers[:1]
    await router.close()
