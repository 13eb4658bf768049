"""The edge as its clients see it: a real Envoy transcoding to a real gRPC service.

`edge` (conftest) is one Envoy with three listeners over the same backend: Nova, Placement and
Glance fault formats.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
from novamesh.compute.v1 import api_servers_pb2_grpc, rest_pb2


@pytest.fixture
async def nova(edge: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=edge.nova, timeout=10) as client:
        yield client


async def test_plain_get_is_200_without_helper_headers(nova: httpx.AsyncClient) -> None:
    resp = await nova.get("/v2.1/servers/abc")
    assert resp.status_code == 200
    assert resp.json()["server"] == {"id": "abc"}
    assert resp.headers["content-type"] == "application/json"
    leaked = [h for h in resp.headers if h.startswith("grpc-") or h == "x-http-status"]
    assert leaked == []


async def test_create_is_202_with_location(nova: httpx.AsyncClient) -> None:
    resp = await nova.post("/v2.1/servers", json={"server": {"name": "vm1"}})
    assert resp.status_code == 202
    assert resp.headers["location"] == "http://edge/v2.1/servers/new-1"
    assert resp.json() == {"server": {"id": "new-1", "name": "vm1"}}


async def test_delete_is_204_without_body_or_content_type(nova: httpx.AsyncClient) -> None:
    resp = await nova.delete("/v2.1/servers/abc")
    assert resp.status_code == 204
    assert resp.content == b""
    assert "content-type" not in resp.headers


@pytest.mark.parametrize("sid", ["plain", "json-empty"])
async def test_action_is_202_with_empty_body(nova: httpx.AsyncClient, sid: str) -> None:
    resp = await nova.post(f"/v2.1/servers/{sid}/action", json={"os-stop": None})
    assert resp.status_code == 202
    assert resp.content == b""
    assert "content-type" not in resp.headers


@pytest.mark.parametrize(
    ("sid", "status", "fault", "message"),
    [
        ("nope", 404, "itemNotFound", "Instance nope could not be found."),
        ("forbidden", 403, "forbidden", 'Policy "x" says "no" \\ ü'),
        ("busy", 409, "conflictingRequest", "Cannot 'stop' while busy"),
        ("late", 409, "conflictingRequest", "generation conflict"),
    ],
)
async def test_grpc_errors_become_nova_faults(
    nova: httpx.AsyncClient, sid: str, status: int, fault: str, message: str
) -> None:
    resp = await nova.get(f"/v2.1/servers/{sid}")
    assert resp.status_code == status
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == {fault: {"code": status, "message": message}}


async def test_trailing_status_overrides_default_mapping(nova: httpx.AsyncClient) -> None:
    resp = await nova.get("/v2.1/servers/quota")
    assert resp.status_code == 413
    assert resp.json() == {
        "overLimit": {"code": 413, "message": "Quota exceeded for cores", "retryAfter": "30"}
    }


async def test_not_acceptable_is_a_compute_fault_as_in_nova(nova: httpx.AsyncClient) -> None:
    # Nova's fault wrapper has no name for 406 and falls back to computeFault.
    resp = await nova.get("/v2.1/servers/v9")
    assert resp.status_code == 406
    assert resp.json() == {
        "computeFault": {"code": 406, "message": "Version 9.0 is not supported by the API."}
    }


async def test_trailing_status_after_initial_metadata(nova: httpx.AsyncClient) -> None:
    resp = await nova.get("/v2.1/servers/late-quota")
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "5"
    assert resp.json() == {"overLimit": {"code": 429, "message": "Rate limited", "retryAfter": "5"}}


async def test_headers_sent_before_an_error_are_kept(nova: httpx.AsyncClient) -> None:
    resp = await nova.get("/v2.1/servers/late")
    assert resp.headers["openstack-api-version"] == "compute 2.60"
    assert "x-error-code" not in resp.headers


async def test_service_rendered_error_body_is_kept(nova: httpx.AsyncClient) -> None:
    resp = await nova.put("/v2.1/servers/abc", json={"server": {}})
    assert resp.status_code == 400
    assert resp.json() == {"badRequest": {"code": 400, "message": "Invalid input"}}


async def test_unknown_path_is_404_fault(nova: httpx.AsyncClient) -> None:
    resp = await nova.get("/v2.1/no-such-thing")
    assert resp.status_code == 404
    assert resp.json() == {
        "itemNotFound": {"code": 404, "message": "The resource could not be found."}
    }


async def test_wrong_method_on_known_path_is_405(nova: httpx.AsyncClient) -> None:
    resp = await nova.patch("/v2.1/servers/abc", json={})
    assert resp.status_code == 405
    assert resp.headers["allow"] == "DELETE, GET, PUT"
    assert resp.json()["badMethod"]["code"] == 405


async def test_bad_json_is_400_fault(nova: httpx.AsyncClient) -> None:
    resp = await nova.put(
        "/v2.1/servers/abc", content=b"{not json", headers={"content-type": "application/json"}
    )
    # HttpBody bodies reach the service raw, so it is the service that rejects them; a typed
    # binding would get Envoy's own 400, rendered by local_reply_config in the same shape.
    assert resp.status_code == 400
    assert "badRequest" in resp.json()


@pytest.mark.parametrize(
    ("path", "original", "project"),
    [
        ("/v2.1/servers/abc.json", "/v2.1/servers/abc", None),
        (
            "/v2.1/0123456789abcdef0123456789abcdef/servers/abc?x=1",
            "/v2.1/servers/abc?x=1",
            "0123456789abcdef0123456789abcdef",
        ),
        ("/v2.1/demo/servers/abc.json", "/v2.1/servers/abc", "demo"),
    ],
)
async def test_legacy_paths_are_rewritten(
    nova: httpx.AsyncClient, path: str, original: str, project: str | None
) -> None:
    resp = await nova.get(path)
    assert resp.status_code == 200
    assert resp.json()["seen"] == {"original_path": original, "path_project": project}


async def test_client_cannot_forge_path_project(nova: httpx.AsyncClient) -> None:
    resp = await nova.get("/v2.1/servers/abc", headers={"x-novamesh-path-project-id": "evil"})
    assert resp.json()["seen"]["path_project"] is None


async def test_root_template(nova: httpx.AsyncClient) -> None:
    resp = await nova.get("/")
    assert resp.json() == {"versions": [{"id": "v2.1"}]}


async def test_cors_preflight(nova: httpx.AsyncClient) -> None:
    resp = await nova.options(
        "/v2.1/servers",
        headers={
            "origin": "http://valid.example.com",
            "access-control-request-method": "GET",
            "access-control-request-headers": "openstack-api-version",
        },
    )
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "http://valid.example.com"
    # oslo.middleware's cors echoes what was asked for, not the whole allow list.
    assert resp.headers["access-control-allow-headers"] == "openstack-api-version"


async def test_cors_preflight_asking_for_a_header_not_allowed(nova: httpx.AsyncClient) -> None:
    resp = await nova.options(
        "/v2.1/servers",
        headers={
            "origin": "http://valid.example.com",
            "access-control-request-method": "GET",
            "access-control-request-headers": "content-type, x-not-allowed",
        },
    )
    assert resp.status_code == 200
    assert not [h for h in resp.headers if h.startswith("access-control-")]


async def test_cors_preflight_from_other_origin_is_200_without_cors(
    nova: httpx.AsyncClient,
) -> None:
    resp = await nova.options(
        "/v2.1/servers",
        headers={"origin": "http://invalid.example.com", "access-control-request-method": "GET"},
    )
    assert resp.status_code == 200
    assert "access-control-allow-origin" not in resp.headers
    plain = await nova.get("/v2.1/servers/abc", headers={"origin": "http://valid.example.com"})
    assert plain.headers["access-control-allow-origin"] == "http://valid.example.com"


async def test_placement_errors_are_html_to_a_browser(edge: Any) -> None:
    html = {"accept": "text/html"}
    async with httpx.AsyncClient(base_url=edge.placement) as client:
        missing = await client.get("/v2.1/servers/forbidden", headers=html)
        unknown = await client.get("/barnabas", headers=html)
        late = await client.get("/v2.1/servers/late", headers=html)
        both = await client.get("/barnabas", headers={"accept": "text/html, application/json"})
    assert missing.status_code == 403
    assert missing.headers["content-type"].startswith("text/html")
    assert "<title>403 Forbidden</title>" in missing.text
    assert "Policy &quot;x&quot; says &quot;no&quot; \\ ü" in missing.text
    assert unknown.status_code == 404
    assert "The resource could not be found." in unknown.text
    assert late.status_code == 409
    assert "generation conflict" in late.text
    assert late.headers["openstack-api-version"] == "compute 2.60"
    assert both.headers["content-type"] == "application/json"
    async with httpx.AsyncClient(base_url=edge.nova) as client:
        nova = await client.get("/v2.1/servers/nope", headers=html)
    assert nova.headers["content-type"] == "application/json"


async def test_http2_cleartext(edge: Any) -> None:
    # h2c prior knowledge: the same port speaks HTTP/2 without TLS (codec AUTO).
    async with httpx.AsyncClient(base_url=edge.nova, http1=False, http2=True) as client:
        resp = await client.get("/v2.1/servers/nope")
    assert resp.http_version == "HTTP/2"
    assert resp.status_code == 404


async def test_placement_error_body(edge: Any) -> None:
    async with httpx.AsyncClient(base_url=edge.placement) as client:
        late = await client.get("/v2.1/servers/late")
        missing = await client.get("/v2.1/servers/nope")
        unknown = await client.get("/barnabas")
        wrong = await client.delete("/")
    assert late.status_code == 409
    assert late.json() == {
        "errors": [
            {
                "status": 409,
                "title": "Conflict",
                "detail": "generation conflict",
                "code": "placement.concurrent_update",
                "request_id": "req-1",
            }
        ]
    }
    error = missing.json()["errors"][0]
    assert error["code"] == "placement.undefined_code"
    assert error["request_id"].startswith("req-")
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["title"] == "Not Found"
    assert unknown.json()["errors"][0]["request_id"].startswith("req-")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET"
    assert wrong.headers["openstack-api-version"] == "placement 1.0"
    assert wrong.json()["errors"][0]["detail"] == (
        "The method DELETE is not allowed for this resource."
    )


async def test_glance_error_body(edge: Any) -> None:
    async with httpx.AsyncClient(base_url=edge.glance) as client:
        resp = await client.get("/v2.1/servers/nope")
    assert resp.status_code == 404
    assert resp.json() == {
        "message": "Instance nope could not be found.",
        "code": "404 Not Found",
        "title": "Not Found",
    }


async def test_native_grpc_passthrough_on_same_port(edge: Any) -> None:
    async with grpc.aio.insecure_channel(edge.grpc_target) as channel:
        stub = api_servers_pb2_grpc.ServersRestServiceStub(channel)
        body = await stub.GetServer(rest_pb2.RestRequest(id="abc"))
        assert json.loads(body.data)["server"] == {"id": "abc"}
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetServer(rest_pb2.RestRequest(id="nope"))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        assert err.value.details() == "Instance nope could not be found."
        call = stub.CreateServer(rest_pb2.RestRequest(body={"data": b'{"server": {"name": "g"}}'}))
        await call
        initial = dict(await call.initial_metadata())
        # gRPC callers get the helper header as sent: the shim only touches REST replies.
        assert initial["x-http-status"] == "202"


async def test_identity_version_discovery_stub(edge: Any, nova: httpx.AsyncClient) -> None:
    version = await nova.get("/identity/v3")
    assert version.status_code == 200
    assert version.json()["version"]["id"] == "v3.14"
    assert version.json()["version"]["links"][0]["href"] == f"{edge.nova}/identity/v3/"
    versions = await nova.get("/identity")
    assert versions.status_code == 300
    assert versions.json()["versions"]["values"][0]["id"] == "v3.14"
    other = await nova.get("/identity/v3/projects")
    assert other.status_code == 501
    assert other.json()["notImplemented"]["code"] == 501
