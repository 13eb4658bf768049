"""os-keypairs: import, generate (until 2.92), list with pagination (2.35), other users (2.10)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.gateway.domain.keypairs import ssh_fingerprint
from novamesh.gateway.testing.harness import Gateway, running

PUBLIC = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDx8nkQv/zgGgB4rMYmIf+6A4l6Rr+o/6lHBQdW5aYd44bd8JttDCE"
    "/F/pNRr0lRE+PiqSPO8nDPHw0010JeMH9gYgnnFlyY3/OcJ02RhIPyyxYpv9FhY+2YiUkpwFOcLImyrxEsYXpD/0d3ac3"
    "0bNH6Sw9JD9UZHYcpSxsIbECHw== Generated-by-Nova"
)


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(tmp_path) as gateway:
        yield gateway


async def test_import_show_list_delete(gw: Gateway) -> None:
    body = {"keypair": {"name": "k1", "public_key": PUBLIC}}
    made = await gw.rest("keypairs.CreateKeypair", path="/v2.1/os-keypairs", body=body)
    assert made.status == 200  # 2.1; 201 from 2.2
    assert made.body["keypair"]["fingerprint"] == ssh_fingerprint(PUBLIC)
    assert set(made.body["keypair"]) == {"name", "public_key", "fingerprint", "user_id"}
    dup = await gw.rest("keypairs.CreateKeypair", path="/v2.1/os-keypairs", body=body)
    assert (dup.status, dup.message) == (409, "Key pair 'k1' already exists.")
    shown = await gw.rest("keypairs.GetKeypair", id="k1", path="/v2.1/os-keypairs/k1")
    assert shown.body["keypair"]["deleted"] is False
    body2 = {"keypair": {"name": "k2", "public_key": PUBLIC, "type": "ssh"}}
    made2 = await gw.rest(
        "keypairs.CreateKeypair", path="/v2.1/os-keypairs", body=body2, version="2.2"
    )
    assert made2.status == 201 and made2.body["keypair"]["type"] == "ssh"
    page = await gw.rest("keypairs.ListKeypairs", path="/v2.1/os-keypairs?limit=1", version="2.35")
    assert [k["keypair"]["name"] for k in page.body["keypairs"]] == ["k1"]
    assert page.body["keypairs_links"][0]["href"].endswith("/os-keypairs?limit=1&marker=k1")
    gone = await gw.rest(
        "keypairs.DeleteKeypair", id="k1", path="/v2.1/os-keypairs/k1", version="2.2"
    )
    assert gone.status == 204
    missing = await gw.rest("keypairs.GetKeypair", id="k1", path="/v2.1/os-keypairs/k1")
    assert (missing.status, missing.message) == (404, "Keypair k1 not found for user admin")


async def test_generate_until_292(gw: Gateway) -> None:
    made = await gw.rest(
        "keypairs.CreateKeypair", path="/v2.1/os-keypairs", body={"keypair": {"name": "gen"}}
    )
    assert made.status == 200, made.message
    assert "PRIVATE KEY" in made.body["keypair"]["private_key"]
    later = await gw.rest(
        "keypairs.CreateKeypair",
        path="/v2.1/os-keypairs",
        body={"keypair": {"name": "gen2"}},
        version="2.92",
    )
    assert later.status == 400


async def test_other_users_need_admin(gw: Gateway) -> None:
    body = {"keypair": {"name": "k", "public_key": PUBLIC, "user_id": "bob"}}
    denied = await gw.rest(
        "keypairs.CreateKeypair", path="/v2.1/os-keypairs", body=body, token="eve", version="2.10"
    )
    assert denied.status == 403
    ok = await gw.rest(
        "keypairs.CreateKeypair", path="/v2.1/os-keypairs", body=body, version="2.10"
    )
    assert ok.body["keypair"]["user_id"] == "bob"
    mine = await gw.rest("keypairs.ListKeypairs", path="/v2.1/os-keypairs", token="bob")
    assert [k["keypair"]["name"] for k in mine.body["keypairs"]] == ["k"]
    bad = await gw.rest(
        "keypairs.CreateKeypair",
        path="/v2.1/os-keypairs",
        body={"keypair": {"name": "x", "public_key": "not a key"}},
    )
    assert (bad.status, bad.message) == (
        400,
        "Keypair data is invalid: failed to generate fingerprint",
    )
