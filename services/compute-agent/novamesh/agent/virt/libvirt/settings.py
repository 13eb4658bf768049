"""The libvirt driver's settings, resolved from configuration by factory.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class LibvirtSettings:
    uri: str
    virt_type: str
    instances_path: Path
    image_target: str  # the image service's gRPC address
    image_upload_url: str = ""  # the image service's public URL (snapshot uploads)
    image_token: str = "admin:admin"
    host: str = ""
    network_name: str = "novamesh"
    network_bridge: str = "nmbr0"
    sync_interval: float = 60.0
    shutdown_timeout: float = 20.0
    reserved_disk_gb: int = 0
    host_ip: str = "127.0.0.1"
    # Other libvirt hosts, by compute host name: where their instances paths are reachable from
    # here (cold moves), and the URI this host's daemon reaches their daemons with (live).
    peer_instances_paths: dict[str, str] = field(default_factory=dict)
    peer_uris: dict[str, str] = field(default_factory=dict)
    # Nova's live_migration_bandwidth (MiB/s, 0: as fast as it goes) and
    # live_migration_permit_post_copy (force-complete switches to post-copy, else pauses).
    live_migration_bandwidth: int = 0
    live_migration_permit_post_copy: bool = False


# How long a guest must stay in a power state after an event before it is reported.
EVENT_SETTLE_SECONDS = 1.0


def domain_name(uuid: str) -> str:
    return f"instance-{uuid}"
