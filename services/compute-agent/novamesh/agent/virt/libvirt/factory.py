"""The libvirt driver built from configuration (`[libvirt]`, the image service's endpoints)."""

from __future__ import annotations

import socket
from pathlib import Path

from novamesh.agent.virt.libvirt.driver import LibvirtDriver
from novamesh.agent.virt.libvirt.imagesource import GrpcImageSource
from novamesh.agent.virt.libvirt.settings import LibvirtSettings
from novamesh.common.config import Config


def default_uri(virt_type: str) -> str:
    return "qemu:///system" if virt_type in ("qemu", "kvm") else f"{virt_type}:///system"


def build(cfg: Config) -> LibvirtDriver:
    lc = cfg.libvirt
    settings = LibvirtSettings(
        uri=lc.connection_uri or default_uri(lc.virt_type),
        virt_type=lc.virt_type,
        instances_path=Path(cfg.expand(lc.instances_path)),
        image_target=cfg.endpoints.gateway,
        image_upload_url=cfg.endpoints.image_public_url,
        image_token=lc.image_token,
        host=lc.host or (cfg.agent.hosts[0] if cfg.agent.hosts else socket.gethostname()),
        network_name=lc.network_name,
        network_bridge=lc.network_bridge,
        sync_interval=lc.sync_power_state_interval,
        shutdown_timeout=lc.clean_shutdown_timeout,
        reserved_disk_gb=lc.reserved_disk_gb,
        peer_instances_paths={h: cfg.expand(p) for h, p in lc.peer_instances_paths.items()},
        peer_uris=dict(lc.peer_uris),
        live_migration_bandwidth=lc.live_migration_bandwidth,
        live_migration_permit_post_copy=lc.live_migration_permit_post_copy,
    )
    return LibvirtDriver(settings, GrpcImageSource(settings.image_target))
