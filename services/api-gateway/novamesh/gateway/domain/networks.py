"""The deprecated network proxies (os-networks, os-tenant-networks, up to 2.35): a fixed list of
networks named in configuration, each with a stable id derived from its name, so scripts that
still look a network up by label find one."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass

from novamesh.common.config import NetworkProxyConfig
from novamesh.gateway.api import policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import NotFound

_NAMESPACE = uuidlib.UUID("5d0e3bde-7d44-4cf2-9a23-8f8a4f0c2b61")

for _name, _check, _desc in [
    ("os_compute_api:os-networks:list", "@", "List networks (deprecated proxy)"),
    ("os_compute_api:os-networks:view", "@", "Show a network (deprecated proxy)"),
    ("os_compute_api:os-tenant-networks:list", "@", "List project networks (deprecated)"),
    ("os_compute_api:os-tenant-networks:show", "@", "Show a project network (deprecated)"),
]:
    policy.register(_name, _check, _desc)


@dataclass(frozen=True)
class Network:
    id: str
    label: str


def configured(cfg: NetworkProxyConfig) -> list[Network]:
    names = [entry.split("=", 1)[0].strip() for entry in cfg.networks if entry.strip()]
    return [Network(str(uuidlib.uuid5(_NAMESPACE, name)), name) for name in names]


def list_networks(cfg: NetworkProxyConfig, who: Identity, rule: str) -> list[Network]:
    policy.authorize(who, rule)
    return configured(cfg)


def get(cfg: NetworkProxyConfig, who: Identity, rule: str, network_id: str) -> Network:
    policy.authorize(who, rule)
    for network in configured(cfg):
        if network.id == network_id:
            return network
    raise NotFound(f"Network {network_id} could not be found.")
