"""Envoy bootstrap for the edge: one listener per REST face, each transcoding to a gRPC backend.

Per listener: HTTP/1.1 and h2c on one port (codec AUTO), the Lua shim (before the transcoder,
so it sees the client's path and the transcoded reply), CORS, the gRPC-JSON transcoder,
the router; `local_reply_config` renders Envoy's own errors in the listener's fault format.
Native gRPC passes through the same port untouched. See the research notes on Envoy 1.40's
transcoder for why each option is set.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from novamesh.common.config import Config
from novamesh.common.edge import descriptors as desc
from novamesh.common.edge import replies
from novamesh.common.edge.replies import FaultFormat

TYPES = "type.googleapis.com/envoy.extensions"
HCM = f"{TYPES}.filters.network.http_connection_manager.v3"
FILTERS = f"{TYPES}.filters.http"

COMPUTE_PACKAGE = "novamesh.compute.v1"
IMAGE_PACKAGE = "novamesh.image.v1"
PLACEMENT_SERVICES = (
    "novamesh.placement.v1.PlacementRestService",
    "novamesh.placement.v1.PlacementService",
)

CORS_ALLOW_HEADERS = (
    "x-auth-token, content-type, accept, openstack-api-version, x-openstack-nova-api-version, "
    "x-openstack-request-id, x-image-meta-checksum"
)
CORS_EXPOSE_HEADERS = (
    "openstack-api-version, x-openstack-nova-api-version, x-openstack-request-id, "
    "x-compute-request-id, location, vary, last-modified, content-md5"
)
CORS_SIMPLE_HEADERS = (
    "cache-control",
    "content-language",
    "content-type",
    "expires",
    "last-modified",
    "pragma",
)
# Big enough for a Nova detail listing or a small image upload held whole by a filter.
BUFFER_LIMIT = 32 * 1024 * 1024


@dataclass(frozen=True)
class Listener:
    name: str
    port: int
    upstream: str  # host:port of the gRPC backend
    services: Sequence[str]  # fully-qualified gRPC services to transcode
    fault_format: FaultFormat
    address: str = "127.0.0.1"
    strip_json_suffix: bool = False
    strip_project_id: bool = False
    cors_origins: Sequence[str] = ()
    # Public base URL under which to answer Keystone's version discovery (`/identity`): the
    # openstack CLI builds an identity client even with `auth_type: none`. Until novamesh has
    # Keystone support, that is all there is of identity.
    identity_stub_url: str | None = None
    # host:port of the console proxy (websockets, noVNC's files under /console/), if any.
    console_upstream: str | None = None


@dataclass(frozen=True)
class EdgeConfig:
    listeners: Sequence[Listener]
    admin_port: int
    descriptor_path: Path = field(default_factory=desc.default_descriptor_path)
    admin_address: str = "127.0.0.1"
    # Where Envoy itself finds the descriptor set when that differs from where it is read
    # here (a container image or a mounted ConfigMap).
    descriptor_mount: str | None = None


def shim_source() -> str:
    return resources.files("novamesh.common.edge").joinpath("shim.lua").read_text()


def _lua_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # also a valid Lua string literal
    if isinstance(value, dict):
        items = ", ".join(f"[{_lua_value(k)}] = {_lua_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, list | tuple):
        return "{" + ", ".join(_lua_value(v) for v in value) + "}"
    if value is None:
        return "nil"
    raise TypeError(f"no Lua literal for {value!r}")


def lua_for(listener: Listener, descriptors: desc.Descriptors) -> str:
    """The shim with this listener's settings prepended as `local CONFIG = {...}`."""
    bindings = descriptors.bindings(listener.services)
    settings: dict[str, object] = {
        "fault_format": listener.fault_format,
        "strip_json": listener.strip_json_suffix,
        "strip_project": listener.strip_project_id,
        "collections": {name: True for name in desc.collections(bindings)},
        "routes": [list(route) for route in desc.route_table(bindings)],
        "version_header": ["placement", "1.0"] if listener.fault_format == "placement" else None,
        # Upstream placement is webob: an error is an HTML page to a client preferring HTML.
        "html_errors": listener.fault_format == "placement",
        "cors_headers": _cors_header_set() if listener.cors_origins else None,
    }
    prelude = "local CONFIG = " + _lua_value(settings) + "\n"
    return prelude + shim_source()


def _cors_header_set() -> dict[str, bool]:
    """What a preflight may ask for: the allow list plus the CORS-safelisted headers (oslo's
    "simple headers"), lower case, as the shim's lookup table."""
    names = [h.strip() for h in CORS_ALLOW_HEADERS.split(",")] + list(CORS_SIMPLE_HEADERS)
    return {name.lower(): True for name in names if name}


def _cors_policy(origins: Sequence[str]) -> dict[str, Any]:
    match = [{"safe_regex": {"regex": ".*"}} if o == "*" else {"exact": o} for o in origins]
    return {
        "@type": f"{FILTERS}.cors.v3.CorsPolicy",
        "allow_origin_string_match": match,
        "allow_methods": "GET, POST, PUT, PATCH, DELETE, HEAD",
        "allow_headers": CORS_ALLOW_HEADERS,
        "expose_headers": CORS_EXPOSE_HEADERS,
        "max_age": "3600",
        # A preflight from an origin not allowed is answered 200 without CORS headers, as
        # oslo.middleware does, instead of reaching the transcoder (no OPTIONS routes: 405).
        "forward_not_matching_preflights": False,
    }


def cluster_name(upstream: str) -> str:
    return "grpc_" + upstream.replace(":", "_").replace(".", "_")


def _listener(listener: Listener, descriptors: desc.Descriptors, pb: Path) -> dict[str, Any]:
    missing = [s for s in listener.services if not descriptors.has(s)]
    if missing:
        raise ValueError(f"listener {listener.name}: not in the descriptor set: {missing}")
    vhost: dict[str, Any] = {
        "name": listener.name,
        "domains": ["*"],
        "routes": [
            {
                "match": {"prefix": "/"},
                # timeout 0: server-streaming watches stay open as long as the client likes.
                "route": {"cluster": cluster_name(listener.upstream), "timeout": "0s"},
            }
        ],
    }
    if listener.identity_stub_url:
        vhost["routes"][:0] = replies.identity_routes(listener.identity_stub_url)
    if listener.console_upstream:
        vhost["routes"][:0] = console_routes(listener.console_upstream)
    if listener.cors_origins:
        vhost["typed_per_filter_config"] = {
            "envoy.filters.http.cors": _cors_policy(listener.cors_origins)
        }
    transcoder = {
        "@type": f"{FILTERS}.grpc_json_transcoder.v3.GrpcJsonTranscoder",
        "proto_descriptor": str(pb),
        "services": list(listener.services),
        "print_options": {
            "always_print_primitive_fields": False,
            "preserve_proto_field_names": False,
        },
        "convert_grpc_status": True,
        "ignore_unknown_query_parameters": True,
        "case_insensitive_enum_parsing": True,
        "query_param_unescape_plus": True,
        "request_validation_options": {
            "reject_unknown_method": True,
            "reject_binding_body_field_collisions": True,
        },
    }
    access_log = {
        "name": "envoy.access_loggers.stdout",
        "typed_config": {
            "@type": f"{TYPES}.access_loggers.stream.v3.StdoutAccessLog",
            "log_format": {
                "json_format": {
                    "listener": listener.name,
                    "start": "%START_TIME%",
                    "method": "%REQ(X-ENVOY-ORIGINAL-METHOD?:METHOD)%",
                    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
                    "status": "%RESPONSE_CODE%",
                    "grpc_status": "%GRPC_STATUS%",
                    "duration_ms": "%DURATION%",
                    "request_id": "%REQ(X-REQUEST-ID)%",
                    "flags": "%RESPONSE_FLAGS%",
                }
            },
        },
    }
    hcm = {
        "@type": f"{HCM}.HttpConnectionManager",
        "stat_prefix": listener.name,
        "codec_type": "AUTO",
        "access_log": [access_log],
        "stream_idle_timeout": "3600s",
        "request_timeout": "0s",
        "route_config": {"name": listener.name, "virtual_hosts": [vhost]},
        # Lua before CORS: its response hook then also sees the preflight replies the CORS
        # filter makes by itself, to echo the requested headers as oslo.middleware does.
        "http_filters": [
            {
                "name": "envoy.filters.http.lua",
                "typed_config": {
                    "@type": f"{FILTERS}.lua.v3.Lua",
                    "default_source_code": {"inline_string": lua_for(listener, descriptors)},
                },
            },
            {
                "name": "envoy.filters.http.cors",
                "typed_config": {"@type": f"{FILTERS}.cors.v3.Cors"},
            },
            {"name": "envoy.filters.http.grpc_json_transcoder", "typed_config": transcoder},
            {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": f"{FILTERS}.router.v3.Router"},
            },
        ],
        "local_reply_config": replies.local_reply_config(listener.fault_format),
    }
    return {
        "name": listener.name,
        "address": {"socket_address": {"address": listener.address, "port_value": listener.port}},
        "per_connection_buffer_limit_bytes": BUFFER_LIMIT,
        "filter_chains": [
            {
                "filters": [
                    {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}
                ]
            }
        ],
    }


def _cluster(upstream: str) -> dict[str, Any]:
    host, _, port = upstream.rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        kind = "STATIC"
    except ValueError:
        kind = "STRICT_DNS"  # a service name (Kubernetes, compose)
    endpoint = {"address": {"socket_address": {"address": host, "port_value": int(port)}}}
    return {
        "name": cluster_name(upstream),
        "type": kind,
        "connect_timeout": "2s",
        "per_connection_buffer_limit_bytes": BUFFER_LIMIT,
        "load_assignment": {
            "cluster_name": cluster_name(upstream),
            "endpoints": [{"lb_endpoints": [{"endpoint": endpoint}]}],
        },
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": f"{TYPES}.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {
                    "http2_protocol_options": {
                        "connection_keepalive": {"interval": "30s", "timeout": "10s"}
                    }
                },
            }
        },
    }


def render(cfg: EdgeConfig, descriptors: desc.Descriptors | None = None) -> dict[str, Any]:
    """The bootstrap as a plain dict (dump it as YAML or JSON)."""
    pb = Path(cfg.descriptor_path).resolve()
    descriptors = descriptors or desc.Descriptors.load(pb)
    mount = Path(cfg.descriptor_mount) if cfg.descriptor_mount else pb
    upstreams = sorted({listener.upstream for listener in cfg.listeners})
    consoles = sorted({lst.console_upstream for lst in cfg.listeners if lst.console_upstream})
    return {
        "admin": {
            "address": {
                "socket_address": {"address": cfg.admin_address, "port_value": cfg.admin_port}
            }
        },
        "static_resources": {
            "listeners": [_listener(lst, descriptors, mount) for lst in cfg.listeners],
            "clusters": [_cluster(u) for u in upstreams] + [console_cluster(u) for u in consoles],
        },
    }


def dump(bootstrap: dict[str, Any], fmt: Literal["yaml", "json"] = "yaml") -> str:
    if fmt == "json":
        return json.dumps(bootstrap, indent=2)
    return str(yaml.safe_dump(bootstrap, sort_keys=False, width=120))


def _port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def default_listeners(
    config: Config,
    descriptors: desc.Descriptors,
    cors_origins: Sequence[str] = (),
    address: str = "127.0.0.1",
) -> list[Listener]:
    """The three REST faces of a novamesh cloud, from the configured endpoints.

    A face whose services are not in the descriptor set yet is left out (the image API lands
    after the compute API), rather than failing the whole edge.
    """
    ep = config.endpoints
    faces: list[Listener] = []
    compute = descriptors.services_in(COMPUTE_PACKAGE)
    if compute:
        faces.append(
            Listener(
                "compute",
                _port(ep.compute_public_url),
                ep.gateway,
                compute,
                "nova",
                strip_json_suffix=True,
                strip_project_id=True,
                cors_origins=cors_origins,
                identity_stub_url=ep.compute_public_url,
                address=address,
                console_upstream=config.console.listen,
            )
        )
    placement = [s for s in PLACEMENT_SERVICES if descriptors.has(s)]
    if placement:
        faces.append(
            Listener(
                "placement",
                _port(ep.placement_public_url),
                ep.placement,
                placement,
                "placement",
                cors_origins=cors_origins,
                address=address,
            )
        )
    image = descriptors.services_in(IMAGE_PACKAGE)
    if image:
        faces.append(
            Listener(
                "image",
                _port(ep.image_public_url),
                ep.gateway,
                image,
                "glance",
                cors_origins=cors_origins,
                address=address,
            )
        )
    return faces


def console_routes(upstream: str) -> list[dict[str, Any]]:
    """The console proxy's routes on the compute listener: every websocket upgrade (noVNC's
    page connects to `/?token=...`, the serial console to `/console/serial/?token=...`) and
    noVNC's files under /console/. The shim and the transcoder stay out of these: they are
    byte streams and static files, not REST calls."""
    off = {"@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", "disabled": True}
    skip = {"envoy.filters.http.grpc_json_transcoder": off, "envoy.filters.http.lua": off}
    route = {
        "cluster": console_cluster_name(upstream),
        # A console session lasts as long as the user keeps it open.
        "timeout": "0s",
        "idle_timeout": "0s",
        "upgrade_configs": [{"upgrade_type": "websocket"}],
    }
    upgrade = {"name": "upgrade", "string_match": {"exact": "websocket", "ignore_case": True}}
    return [
        {
            "match": {"prefix": "/", "headers": [upgrade]},
            "route": route,
            "typed_per_filter_config": skip,
        },
        {"match": {"prefix": "/console/"}, "route": route, "typed_per_filter_config": skip},
    ]


def console_cluster_name(upstream: str) -> str:
    return "console_" + upstream.replace(":", "_").replace(".", "_")


def console_cluster(upstream: str) -> dict[str, Any]:
    """The console proxy speaks HTTP/1.1 (websocket upgrades), not gRPC's HTTP/2."""
    cluster = _cluster(upstream)
    cluster.pop("typed_extension_protocol_options")
    cluster["name"] = console_cluster_name(upstream)
    cluster["load_assignment"]["cluster_name"] = cluster["name"]
    return cluster
