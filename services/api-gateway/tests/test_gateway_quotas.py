"""Quota sets, quota class sets, absolute limits, and quota enforcement on boot and keypairs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from novamesh.common.apidb import models
from novamesh.compute.v1 import api_quotas_pb2_grpc
from novamesh.gateway.domain import quotas
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.testing.harness import Gateway, running


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        await gateway.add_flavor("1", "m1.tiny", vcpus=1, ram=512)
        await gateway.add_flavor("4", "m1.large", vcpus=8, ram=8192)
        gateway.stubs["quotas"] = api_quotas_pb2_grpc.QuotasRestServiceStub(gateway.channel)
        yield gateway


async def _boot(gw: Gateway, image: str, flavor: str = "1", **extra: Any) -> Any:
    body = {"server": {"name": "q", "imageRef": image, "flavorRef": flavor, **extra}}
    return await gw.rest("servers.CreateServer", path="/v2.1/servers", body=body, token="alice:p1")


async def test_show_per_microversion(gw: Gateway) -> None:
    old = await gw.rest("quotas.GetQuotaSet", id="p1", path="/v2.1/os-quota-sets/p1")
    assert old.body["quota_set"]["floating_ips"] == -1
    assert old.body["quota_set"]["injected_files"] == 5
    new = await gw.rest(
        "quotas.GetQuotaSet", id="p1", path="/v2.1/os-quota-sets/p1", version="2.57"
    )
    assert new.body == {
        "quota_set": {
            "cores": 20,
            "id": "p1",
            "instances": 10,
            "key_pairs": 100,
            "metadata_items": 128,
            "ram": 51200,
            "server_groups": 10,
            "server_group_members": 10,
        }
    }


async def test_update_detail_and_reset(gw: Gateway) -> None:
    image = await gw.add_image()
    assert (await _boot(gw, image, "4")).status == 202
    body = {"quota_set": {"instances": 20, "cores": 10}}
    updated = await gw.rest(
        "quotas.UpdateQuotaSet", id="p1", path="/v2.1/os-quota-sets/p1", body=body, version="2.57"
    )
    assert updated.status == 200, updated.message
    assert "id" not in updated.body["quota_set"]
    assert updated.body["quota_set"]["instances"] == 20
    detail = await gw.rest(
        "quotas.GetQuotaSetDetail", id="p1", path="/v2.1/os-quota-sets/p1/detail", version="2.57"
    )
    assert detail.body["quota_set"]["cores"] == {"in_use": 8, "limit": 10, "reserved": 0}
    assert detail.body["quota_set"]["ram"]["in_use"] == 8192
    assert detail.body["quota_set"]["instances"]["in_use"] == 1
    below = {"quota_set": {"cores": 7}}
    refused = await gw.rest(
        "quotas.UpdateQuotaSet", id="p1", path="/v2.1/os-quota-sets/p1", body=below
    )
    assert refused.status == 400
    assert "must be greater than or equal to already used and reserved 8" in refused.message
    forced = {"quota_set": {"cores": 7, "force": "True"}}
    ok = await gw.rest("quotas.UpdateQuotaSet", id="p1", path="/v2.1/os-quota-sets/p1", body=forced)
    assert ok.body["quota_set"]["cores"] == 7
    reset = await gw.rest("quotas.DeleteQuotaSet", id="p1", path="/v2.1/os-quota-sets/p1")
    assert reset.status == 202
    shown = await gw.rest("quotas.GetQuotaSet", id="p1", path="/v2.1/os-quota-sets/p1")
    assert shown.body["quota_set"]["cores"] == 20


async def test_update_rules(gw: Gateway) -> None:
    path = "/v2.1/os-quota-sets/p1"
    unknown = {"quota_set": {"floating_ips": 10}}
    assert (
        await gw.rest("quotas.UpdateQuotaSet", id="p1", path=path, body=unknown, version="2.36")
    ).status == 400
    assert (await gw.rest("quotas.UpdateQuotaSet", id="p1", path=path, body=unknown)).status == 200
    member = await gw.rest(
        "quotas.UpdateQuotaSet",
        id="p1",
        path=path,
        body={"quota_set": {"cores": 1}},
        token="bob:p1",
    )
    assert member.status == 403
    user = await gw.rest(
        "quotas.UpdateQuotaSet",
        id="p1",
        path=path + "?user_id=alice",
        body={"quota_set": {"cores": 30}},
    )
    assert user.status == 400 and "less than or equal to 20" in user.message
    other = await gw.rest(
        "quotas.GetQuotaSet", id="p2", path="/v2.1/os-quota-sets/p2", token="bob:p1"
    )
    assert other.status == 403


async def test_quota_classes(gw: Gateway) -> None:
    path = "/v2.1/os-quota-class-sets/default"
    shown = await gw.rest("quotas.GetQuotaClassSet", id="default", path=path)
    assert "server_groups" not in shown.body["quota_class_set"]
    assert shown.body["quota_class_set"]["security_groups"] == -1
    body = {"quota_class_set": {"instances": 50, "cores": 50}}
    updated = await gw.rest(
        "quotas.UpdateQuotaClassSet", id="default", path=path, body=body, version="2.57"
    )
    assert updated.body["quota_class_set"] == {
        "cores": 50,
        "instances": 50,
        "key_pairs": 100,
        "metadata_items": 128,
        "ram": 51200,
        "server_groups": 10,
        "server_group_members": 10,
    }
    defaults = await gw.rest(
        "quotas.GetQuotaSetDefaults", id="p9", path="/v2.1/os-quota-sets/p9/defaults"
    )
    assert defaults.body["quota_set"]["instances"] == 50


async def test_limits(gw: Gateway) -> None:
    image = await gw.add_image()
    assert (await _boot(gw, image, "4")).status == 202
    resp = await gw.rest("quotas.GetLimits", path="/v2.1/limits", token="alice:p1", version="2.57")
    absolute = resp.body["limits"]["absolute"]
    assert resp.body["limits"]["rate"] == []
    assert (absolute["totalCoresUsed"], absolute["totalRAMUsed"]) == (8, 8192)
    assert absolute["totalInstancesUsed"] == 1
    assert "maxPersonality" not in absolute and "maxImageMeta" not in absolute
    old = await gw.rest("quotas.GetLimits", path="/v2.1/limits", token="alice:p1")
    assert old.body["limits"]["absolute"]["maxTotalFloatingIps"] == -1
    other = await gw.rest("quotas.GetLimits", path="/v2.1/limits?tenant_id=p2", token="bob:p1")
    assert other.status == 403
    admin = await gw.rest("quotas.GetLimits", path="/v2.1/limits?tenant_id=p1&reserved=1")
    assert admin.body["limits"]["absolute"]["totalCoresUsed"] == 8


async def test_boot_over_quota_is_403_and_records_nothing(gw: Gateway) -> None:
    image = await gw.add_image()
    assert (await _boot(gw, image, "4")).status == 202
    assert (await _boot(gw, image, "4")).status == 202
    resp = await _boot(gw, image, "4")
    assert resp.status == 403
    assert resp.message == (
        "Quota exceeded for cores: Requested 8, but already used 16 of 20 cores"
    )
    assert await gw.count(models.BuildRequest) == 2
    assert len(gw.router.builds) == 2


async def test_max_count_shrinks_to_what_fits(gw: Gateway) -> None:
    image = await gw.add_image()
    resp = await _boot(gw, image, "4", min_count=1, max_count=5)
    assert resp.status == 202, resp.message
    assert len(gw.router.builds[0].instances) == 2
    over = await _boot(gw, image, "1", min_count=20, max_count=20)
    assert over.status == 403 and over.message.startswith("Quota exceeded for cores, instances")


async def test_metadata_items_limit(gw: Gateway) -> None:
    image = await gw.add_image()
    await gw.rest(
        "quotas.UpdateQuotaSet",
        id="p1",
        path="/v2.1/os-quota-sets/p1",
        body={"quota_set": {"metadata_items": 1}},
    )
    resp = await _boot(gw, image, metadata={"a": "1", "b": "2"})
    assert (resp.status, resp.message) == (403, "Maximum number of metadata items exceeds 1")


async def test_key_pairs_limit(gw: Gateway) -> None:
    await gw.rest(
        "quotas.UpdateQuotaSet",
        id="p1",
        path="/v2.1/os-quota-sets/p1",
        body={"quota_set": {"key_pairs": 1}},
    )
    pub = (
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDx8nkQv/zgGgB4rMYmIf+6A4l6Rr+o/6lHBQdW5aYd"
        "44bd8JttDCE/F/pNRr0lRE+PiqSPO8nDPHw0010JeMH9gYgnnFlyY3/OcJ02RhIPyyxYpv9FhY+2YiUk"
        "pwFOcLImyrxEsYXpD/0d3ac30bNH6Sw9JD9UZHYcpSxsIbECHw== Generated-by-Nova"
    )
    first = {"keypair": {"name": "k1", "public_key": pub}}
    assert (await gw.rest("keypairs.CreateKeypair", body=first, token="alice:p1")).status == 200
    second = {"keypair": {"name": "k2", "public_key": pub}}
    resp = await gw.rest("keypairs.CreateKeypair", body=second, token="alice:p1")
    assert (resp.status, resp.message) == (403, "Quota exceeded, too many key pairs.")


async def test_an_upsize_needs_room_and_a_downsize_always_fits(gw: Gateway) -> None:
    image = await gw.add_image()
    assert (await _boot(gw, image, "4")).status == 202
    assert (await _boot(gw, image, "4")).status == 202
    deps = Deps(gw.cfg, gw.sessions, None)  # type: ignore[arg-type]
    with pytest.raises(quotas.QuotaExceeded) as err:
        await quotas.check_resize(deps, "p1", "alice", 8, 0)
    assert err.value.message == (
        "Quota exceeded for cores: Requested 8, but already used 16 of 20 cores"
    )
    await quotas.check_resize(deps, "p1", "alice", 4, 1024)
    await quotas.check_resize(deps, "p1", "alice", -7, -8000)
