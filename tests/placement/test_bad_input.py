"""Bad input through real Envoy: every schema violation is a 400 with placement's error body, and
nothing changes. Also the noauth2 conventions: no token is a 401, a non-admin a 403."""

from __future__ import annotations

import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.placement import harness

pytestmark = pytest.mark.e2e

ADMIN = {"x-auth-token": "admin", "openstack-api-version": "placement 1.39"}
RP = str(uuid.uuid4())
CONSUMER = str(uuid.uuid4())
AGG = str(uuid.uuid4())


@pytest.fixture(scope="module")
def api() -> Iterator[httpx.Client]:
    work = Path(tempfile.mkdtemp(prefix="placement-bad-input-"))
    try:
        with (
            harness.edge(work) as ports,
            harness.placement(ports.grpc, work, public_url=ports.url),
            httpx.Client(base_url=ports.url, headers=ADMIN, timeout=30) as client,
        ):
            seed(client)
            yield client
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ok(resp: httpx.Response) -> httpx.Response:
    assert resp.status_code < 300, resp.text
    return resp


def seed(c: httpx.Client) -> None:
    ok(c.post("/resource_providers", json={"name": "cn1", "uuid": RP}))
    body = {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8}}}
    ok(c.put(f"/resource_providers/{RP}/inventories", json=body))
    ok(
        c.put(
            f"/resource_providers/{RP}/traits",
            json={"resource_provider_generation": 1, "traits": ["HW_CPU_X86_AVX2"]},
        )
    )
    ok(
        c.put(
            f"/resource_providers/{RP}/aggregates",
            json={"resource_provider_generation": 2, "aggregates": [AGG]},
        )
    )
    alloc = {
        "allocations": {RP: {"resources": {"VCPU": 2}}},
        "project_id": "p",
        "user_id": "u",
        "consumer_generation": None,
        "consumer_type": "INSTANCE",
    }
    ok(c.put(f"/allocations/{CONSUMER}", json=alloc))


def state(c: httpx.Client) -> dict[str, Any]:
    """Everything the bad requests below could have touched."""
    return {
        "providers": ok(c.get("/resource_providers")).json(),
        "inventories": ok(c.get(f"/resource_providers/{RP}/inventories")).json(),
        "traits": ok(c.get(f"/resource_providers/{RP}/traits")).json(),
        "aggregates": ok(c.get(f"/resource_providers/{RP}/aggregates")).json(),
        "allocations": ok(c.get(f"/allocations/{CONSUMER}")).json(),
        "usages": ok(c.get(f"/resource_providers/{RP}/usages")).json(),
        "classes": ok(c.get("/resource_classes")).json(),
        "custom_traits": ok(c.get("/traits?name=startswith:CUSTOM_")).json(),
    }


def inv_body(**inv: Any) -> dict[str, Any]:
    return {"resource_provider_generation": 4, "inventories": {"VCPU": {"total": 8, **inv}}}


# (method, path, JSON body or raw bytes)
BAD: list[tuple[str, str, Any]] = [
    ("POST", "/resource_providers", {"name": "x", "colour": "red"}),
    ("POST", "/resource_providers", {"name": "x" * 201}),
    ("POST", "/resource_providers", {"name": "x", "uuid": "not-a-uuid"}),
    ("POST", "/resource_providers", b"{not json"),
    ("PUT", f"/resource_providers/{RP}", {"name": 42}),
    ("PUT", f"/resource_providers/{RP}/inventories", inv_body(total=-1)),
    ("PUT", f"/resource_providers/{RP}/inventories", inv_body(allocation_ratio="lots")),
    ("PUT", f"/resource_providers/{RP}/inventories", inv_body(step_size=0)),
    ("PUT", f"/resource_providers/{RP}/inventories", inv_body(reserved=9)),
    ("PUT", f"/resource_providers/{RP}/inventories", {"inventories": {"VCPU": {"total": 1}}}),
    ("PUT", f"/resource_providers/{RP}/traits", {"resource_provider_generation": 4}),
    (
        "PUT",
        f"/resource_providers/{RP}/traits",
        {"resource_provider_generation": 4, "traits": ["not a trait name"]},
    ),
    (
        "PUT",
        f"/resource_providers/{RP}/aggregates",
        {"resource_provider_generation": 4, "aggregates": ["nope"]},
    ),
    ("PUT", f"/allocations/{CONSUMER}", {"allocations": {RP: {"resources": {"VCPU": 0}}}}),
    (
        "PUT",
        f"/allocations/{CONSUMER}",
        {
            "allocations": {RP: {"resources": {"VCPU": 1}}},
            "project_id": "p",
            "user_id": "u",
            "consumer_generation": 1,
            "consumer_type": "INSTANCE",
            "extra": True,
        },
    ),
    ("POST", "/allocations", {CONSUMER: {"allocations": "all of them"}}),
    ("POST", "/resource_classes", {"name": "NOT_CUSTOM"}),
    ("POST", "/reshaper", {"inventories": {}, "allocations": {}, "cows": "moo"}),
    ("GET", "/allocation_candidates?resources=VCPU:-1", None),
    ("GET", "/allocation_candidates?resources=VCPU:1&colour=red", None),
    ("GET", "/resource_providers?member_of=not-a-uuid", None),
]


@pytest.mark.parametrize(("method", "path", "body"), BAD, ids=[f"{m} {p}" for m, p, _ in BAD])
def test_bad_input_is_400_and_changes_nothing(
    api: httpx.Client, method: str, path: str, body: Any
) -> None:
    before = state(api)
    if isinstance(body, bytes):
        resp = api.request(method, path, content=body, headers={"content-type": "application/json"})
    else:
        resp = api.request(method, path, json=body)
    assert resp.status_code == 400, resp.text
    error = resp.json()["errors"][0]
    assert set(error) == {"status", "title", "detail", "code", "request_id"}
    assert error["status"] == 400 and error["title"] == "Bad Request"
    assert error["request_id"].startswith("req-")
    assert resp.headers["openstack-api-version"] == "placement 1.39"
    assert state(api) == before


def test_no_token_is_401_and_non_admin_is_403(api: httpx.Client) -> None:
    url = f"{str(api.base_url).rstrip('/')}/resource_providers"
    assert httpx.get(url).status_code == 401
    resp = httpx.get(url, headers={"x-auth-token": "user"})
    assert resp.status_code == 403
    assert "placement:resource_providers:list" in resp.json()["errors"][0]["detail"]
    # A service token passes; a system-scoped admin does not (every rule is project-scoped).
    assert httpx.get(url, headers={"x-auth-token": "svc", "x-roles": "service"}).is_success
    system = {"x-auth-token": "admin", "x-roles": "admin", "openstack-system-scope": "all"}
    assert httpx.get(url, headers=system).status_code == 403


def test_content_length_not_an_integer_is_400(api: httpx.Client) -> None:
    # No HTTP client library sends this (gabbi's cannot either), so a raw socket: Envoy's codec
    # refuses it before any filter, in placement's error format, and nothing is created.
    before = state(api)
    host, port = str(api.base_url).rstrip("/").rsplit(":", 1)
    body = b'{"name": "x"}'
    request = (
        b"POST /resource_providers HTTP/1.1\r\nhost: x\r\nx-auth-token: admin\r\n"
        b"content-type: application/json\r\ncontent-length: hi mom\r\n\r\n" + body
    )
    with socket.create_connection((host.split("//")[-1], int(port)), timeout=10) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, payload = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), head
    assert b'"title":"Bad Request"' in payload
    assert state(api) == before
