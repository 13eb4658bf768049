"""The console proxy's place in the edge: the compute listener sends websocket upgrades and
/console/ paths, past the shim and the transcoder, to an HTTP/1.1 cluster."""

from __future__ import annotations

from novamesh.common.config import Config
from novamesh.common.edge import descriptors as desc
from novamesh.common.edge import envoy


def test_compute_listener_routes_consoles_to_the_proxy(descriptors: desc.Descriptors) -> None:
    cfg = Config()
    cfg.console.listen = "127.0.0.1:16080"
    faces = envoy.default_listeners(cfg, descriptors)
    boot = envoy.render(envoy.EdgeConfig(faces, 19901), descriptors)
    listeners = {lst["name"]: lst for lst in boot["static_resources"]["listeners"]}
    hcm = listeners["compute"]["filter_chains"][0]["filters"][0]["typed_config"]
    routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
    upgrade, files = routes[0], routes[1]
    assert upgrade["match"]["headers"][0]["name"] == "upgrade"
    assert upgrade["route"]["upgrade_configs"] == [{"upgrade_type": "websocket"}]
    assert files["match"] == {"prefix": "/console/"}
    for route in (upgrade, files):
        assert route["route"]["cluster"] == "console_127_0_0_1_16080"
        skipped = route["typed_per_filter_config"]
        assert {"envoy.filters.http.grpc_json_transcoder", "envoy.filters.http.lua"} <= set(skipped)
    clusters = {c["name"]: c for c in boot["static_resources"]["clusters"]}
    # HTTP/1.1 upstream: websocket upgrades do not ride gRPC's HTTP/2 options.
    assert "typed_extension_protocol_options" not in clusters["console_127_0_0_1_16080"]
    placement = listeners["placement"]["filter_chains"][0]["filters"][0]["typed_config"]
    assert all(
        "upgrade_configs" not in r.get("route", {})
        for r in placement["route_config"]["virtual_hosts"][0]["routes"]
    )
