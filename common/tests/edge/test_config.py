"""Rendering the edge's Envoy bootstrap, and Envoy's own verdict on it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from novamesh.common.config import Config
from novamesh.common.edge import descriptors as desc
from novamesh.common.edge import envoy, process


@pytest.mark.parametrize(
    ("template", "matches", "rejects"),
    [
        ("/", ["/"], ["/v2.1"]),
        ("/v2.1", ["/v2.1", "/v2.1/"], ["/v2.1/servers"]),
        ("/v2.1/servers/{id}", ["/v2.1/servers/a-b.c", "/v2.1/servers/x/"], ["/v2.1/servers/a/b"]),
        ("/v2.1/servers/{id}/action", ["/v2.1/servers/1/action"], ["/v2.1/servers/1/actions"]),
        ("/v1/{name=projects/*/things/**}", ["/v1/projects/p/things/a/b"], ["/v1/projects/p"]),
        ("/v1/{name}:cancel", ["/v1/op-1:cancel"], ["/v1/op-1"]),
        ("/os-keypairs/{id}", ["/os-keypairs/k"], ["/osXkeypairs/k"]),
    ],
)
def test_lua_pattern(template: str, matches: list[str], rejects: list[str]) -> None:
    pattern = desc.lua_pattern(template)
    # The Lua patterns used here are a subset of regular expressions once `%` escapes become `\`.
    regex = re.compile(pattern.replace("%", "\\"))
    for path in matches:
        assert regex.match(path), (pattern, path)
    for path in rejects:
        assert not regex.match(path), (pattern, path)


def test_route_table_merges_methods() -> None:
    bindings = [
        desc.HttpBinding("s", "Get", "GET", "/v2.1/servers/{id}"),
        desc.HttpBinding("s", "Put", "PUT", "/v2.1/servers/{server_id}"),
        desc.HttpBinding("s", "List", "GET", "/v2.1/servers"),
    ]
    assert desc.route_table(bindings) == [
        ("^/v2%.1/servers/?$", "GET"),
        ("^/v2%.1/servers/[^/]+/?$", "GET, PUT"),
    ]
    assert desc.collections(bindings) == ["servers"]


def test_compute_services_come_from_the_descriptor_set(descriptors: desc.Descriptors) -> None:
    services = descriptors.services_in("novamesh.compute.v1")
    assert "novamesh.compute.v1.ServersRestService" in services
    assert "novamesh.compute.v1.VersionsRestService" in services
    assert all(s.startswith("novamesh.compute.v1.") for s in services)


def test_default_listeners(descriptors: desc.Descriptors) -> None:
    faces = {f.name: f for f in envoy.default_listeners(Config(), descriptors)}
    compute = faces["compute"]
    assert (compute.port, compute.upstream, compute.fault_format) == (
        8774,
        "127.0.0.1:50051",
        "nova",
    )
    assert compute.strip_project_id and compute.strip_json_suffix
    if "image" in faces:
        assert faces["image"].upstream == "127.0.0.1:50051"
        assert faces["image"].fault_format == "glance"
    assert faces["placement"].upstream == "127.0.0.1:50054"
    assert not faces["placement"].strip_project_id


def test_transcoder_options(descriptors: desc.Descriptors) -> None:
    listener = envoy.Listener(
        "compute", 1, "127.0.0.1:2", ["novamesh.compute.v1.ServersRestService"], "nova"
    )
    boot = envoy.render(envoy.EdgeConfig([listener], admin_port=3), descriptors)
    hcm = boot["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    names = [f["name"] for f in hcm["http_filters"]]
    assert names == [
        "envoy.filters.http.lua",
        "envoy.filters.http.cors",
        "envoy.filters.http.grpc_json_transcoder",
        "envoy.filters.http.router",
    ]
    transcoder = hcm["http_filters"][2]["typed_config"]
    assert transcoder["convert_grpc_status"] is True
    assert transcoder["request_validation_options"] == {
        "reject_unknown_method": True,
        "reject_binding_body_field_collisions": True,
    }
    assert Path(transcoder["proto_descriptor"]).is_absolute()
    assert hcm["codec_type"] == "AUTO"
    lua = hcm["http_filters"][0]["typed_config"]["default_source_code"]["inline_string"]
    assert lua.startswith('local CONFIG = {["fault_format"] = "nova"')
    cluster = boot["static_resources"]["clusters"][0]
    assert cluster["type"] == "STATIC"
    assert "http2_protocol_options" in json.dumps(cluster)


def test_unknown_service_is_an_error(descriptors: desc.Descriptors) -> None:
    listener = envoy.Listener("x", 1, "127.0.0.1:2", ["novamesh.nope.v1.Nope"], "nova")
    with pytest.raises(ValueError, match=r"novamesh\.nope\.v1\.Nope"):
        envoy.render(envoy.EdgeConfig([listener], admin_port=3), descriptors)


def test_hostname_upstream_uses_dns(descriptors: desc.Descriptors) -> None:
    services = ["novamesh.compute.v1.VersionsRestService"]
    listener = envoy.Listener("compute", 1, "api-gateway:50051", services, "nova")
    boot = envoy.render(envoy.EdgeConfig([listener], admin_port=3), descriptors)
    assert boot["static_resources"]["clusters"][0]["type"] == "STRICT_DNS"


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_envoy_accepts_default_config(
    descriptors: desc.Descriptors, tmp_path: Path, fmt: str
) -> None:
    faces = envoy.default_listeners(Config(), descriptors, cors_origins=["*"])
    boot = envoy.render(envoy.EdgeConfig(faces, admin_port=9901), descriptors)
    text = envoy.dump(boot, "json" if fmt == "json" else "yaml")
    assert (json.loads(text) if fmt == "json" else yaml.safe_load(text)) == boot
    path = tmp_path / f"envoy.{fmt}"
    path.write_text(text)
    process.validate(path)


def test_envoy_rejection_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("static_resources: {listeners: [{name: x}]}\n")
    with pytest.raises(process.EnvoyError, match="rejected"):
        process.validate(path)


def test_render_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from novamesh.common.edge.__main__ import main

    monkeypatch.setenv("NOVAMESH__ENDPOINTS__GATEWAY", "api-gateway:50051")
    out = tmp_path / "envoy.json"
    assert main(["--out", str(out), "--format", "json", "--listen", "0.0.0.0", "--validate"]) == 0
    boot = json.loads(out.read_text())
    listener = boot["static_resources"]["listeners"][0]
    assert listener["address"]["socket_address"]["address"] == "0.0.0.0"
    types = {c["name"]: c["type"] for c in boot["static_resources"]["clusters"]}
    assert types[envoy.cluster_name("api-gateway:50051")] == "STRICT_DNS"


def test_envoy_that_cannot_start_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("static_resources: {listeners: [{name: x}]}\n")
    with pytest.raises(process.EnvoyError, match="exited during startup"):
        process.start(path, admin_port=1, log_path=tmp_path / "envoy.log", wait=True)
