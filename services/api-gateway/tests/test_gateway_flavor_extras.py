"""Flavor extra specs (CRUD, 2.86 validation) and access to private flavors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.compute.v1 import api_flavor_extras_pb2_grpc
from novamesh.gateway.testing.harness import Gateway, running


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        await gateway.add_flavor("1", "m1.tiny", extra_specs={"hw:numa_nodes": "1"})
        await gateway.add_flavor("p", "private", is_public=False)
        gateway.stubs["extras"] = api_flavor_extras_pb2_grpc.FlavorExtrasRestServiceStub(
            gateway.channel
        )
        yield gateway


async def test_extra_specs_crud(gw: Gateway) -> None:
    listed = await gw.rest("extras.ListExtraSpecs", id="1")
    assert listed.body == {"extra_specs": {"hw:numa_nodes": "1"}}
    created = await gw.rest(
        "extras.CreateExtraSpecs",
        id="1",
        body={"extra_specs": {"hw:cpu_policy": "dedicated", "hw:numa_nodes": 2}},
    )
    assert created.status == 200, created.message
    assert created.body == {"extra_specs": {"hw:cpu_policy": "dedicated", "hw:numa_nodes": "2"}}
    shown = await gw.rest("extras.GetExtraSpec", id="1", sub_id="hw:numa_nodes")
    assert shown.body == {"hw:numa_nodes": "2"}
    updated = await gw.rest(
        "extras.UpdateExtraSpec", id="1", sub_id="hw:numa_nodes", body={"hw:numa_nodes": "1"}
    )
    assert updated.body == {"hw:numa_nodes": "1"}
    deleted = await gw.rest("extras.DeleteExtraSpec", id="1", sub_id="hw:cpu_policy")
    assert deleted.status == 202
    flavor = await gw.rest("flavors.GetFlavor", id="1", version="2.61")
    assert flavor.body["flavor"]["extra_specs"] == {"hw:numa_nodes": "1"}
    missing = await gw.rest("extras.GetExtraSpec", id="1", sub_id="hw:cpu_policy")
    assert missing.status == 404
    assert missing.message == "Flavor 1 has no extra specs with key hw:cpu_policy."


async def test_update_key_must_match_the_path(gw: Gateway) -> None:
    resp = await gw.rest("extras.UpdateExtraSpec", id="1", sub_id="a", body={"b": "1"})
    assert (resp.status, resp.message) == (400, "Request body and URI mismatch")
    resp = await gw.rest("extras.UpdateExtraSpec", id="1", sub_id="a", body={"a": "1", "b": "2"})
    assert resp.status == 400


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [
        ("hw:cpu_policy", "bogus", False),
        ("hw:numa_nodes", "zero", False),
        ("hw:no_such_thing", "1", False),
        ("resources:VCPU", "-1", False),
        ("trait:HW_CPU_X86_AVX", "maybe", False),
        ("hw_rng:allowed", "True", True),
        ("resources1:CUSTOM_GPU", "2", True),
        ("trait:HW_CPU_X86_AVX", "required", True),
        ("quota:disk_read_bytes_sec", "10240", True),
        ("pci_passthrough:alias", "a1:2,b2:1", True),
        ("aggregate_instance_extra_specs:ssd", "true", True),
        ("my_filter_key", "anything", True),
    ],
)
async def test_2_86_validation(gw: Gateway, key: str, value: str, ok: bool) -> None:
    body = {"extra_specs": {key: value}}
    new = await gw.rest("extras.CreateExtraSpecs", id="1", body=body, version="2.86")
    assert (new.status == 200) is ok, new.message
    if not ok:
        assert new.message.startswith("Validation failed;")
        # Before 2.86 anything went.
        old = await gw.rest("extras.CreateExtraSpecs", id="1", body=body, version="2.85")
        assert old.status == 200


async def test_only_admins_change_extra_specs(gw: Gateway) -> None:
    resp = await gw.rest(
        "extras.CreateExtraSpecs", id="1", body={"extra_specs": {"a": "b"}}, token="bob:p1"
    )
    assert resp.status == 403
    assert (await gw.rest("extras.ListExtraSpecs", id="1", token="bob:p1")).status == 200


async def test_flavor_access(gw: Gateway) -> None:
    hidden = await gw.rest("flavors.GetFlavor", id="p", token="bob:p1")
    assert hidden.status == 404
    add = {"addTenantAccess": {"tenant": "p1"}}
    added = await gw.rest("extras.FlavorAction", id="p", body=add)
    assert added.body == {"flavor_access": [{"flavor_id": "p", "tenant_id": "p1"}]}
    again = await gw.rest("extras.FlavorAction", id="p", body=add)
    assert again.status == 409
    assert (await gw.rest("flavors.GetFlavor", id="p", token="bob:p1")).status == 200
    listed = await gw.rest("flavors.ListFlavors", path="/v2.1/flavors", token="bob:p1")
    assert "p" in [f["id"] for f in listed.body["flavors"]]
    access = await gw.rest("extras.ListFlavorAccess", id="p")
    assert access.body == added.body
    removed = await gw.rest(
        "extras.FlavorAction", id="p", body={"removeTenantAccess": add["addTenantAccess"]}
    )
    assert removed.body == {"flavor_access": []}
    assert (await gw.rest("flavors.GetFlavor", id="p", token="bob:p1")).status == 404
    gone = await gw.rest(
        "extras.FlavorAction", id="p", body={"removeTenantAccess": {"tenant": "x"}}
    )
    assert gone.status == 404


async def test_public_flavors_have_no_access_list(gw: Gateway) -> None:
    resp = await gw.rest("extras.ListFlavorAccess", id="1")
    assert (resp.status, resp.message) == (404, "Access list not available for public flavors.")
    add = {"addTenantAccess": {"tenant": "p1"}}
    assert (await gw.rest("extras.FlavorAction", id="1", body=add, version="2.7")).status == 409
    assert (await gw.rest("extras.FlavorAction", id="1", body=add, version="2.6")).status == 200


async def test_access_changes_are_admin_only(gw: Gateway) -> None:
    add = {"addTenantAccess": {"tenant": "p1"}}
    assert (await gw.rest("extras.FlavorAction", id="p", body=add, token="bob:p1")).status == 403
    bad = await gw.rest("extras.FlavorAction", id="p", body={"shareIt": {}})
    assert bad.status == 400
