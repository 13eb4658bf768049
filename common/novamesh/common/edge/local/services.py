"""The processes of a local novamesh cloud, in start order, and how to probe each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from novamesh.common.config import Config

ENVOY = "envoy"


@dataclass(frozen=True)
class Service:
    name: str  # pid and log file stem
    script: str  # console script in the virtualenv
    endpoint: Callable[[Config], str]  # host:port of its gRPC server


SERVICES = (
    Service("placement", "novamesh-placement", lambda c: c.endpoints.placement),
    Service("scheduler", "novamesh-scheduler", lambda c: c.endpoints.scheduler),
    Service("router", "novamesh-router", lambda c: c.endpoints.router),
    Service("api", "novamesh-api", lambda c: c.endpoints.gateway),
    Service("agent", "novamesh-agent", lambda c: c.endpoints.agent),
)
START_ORDER = [s.name for s in SERVICES] + [ENVOY]


def by_name(name: str) -> Service | None:
    return next((s for s in SERVICES if s.name == name), None)


def expected_hosts(cfg: Config) -> int:
    """How many compute hosts the local agent simulates (and discover_hosts should map)."""
    return len(cfg.agent.hosts) or cfg.agent.host_count


def public_hostport(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or '127.0.0.1'}:{parts.port or 80}"
