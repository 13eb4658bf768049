"""What a boot asks the scheduler for, as plain types (the servicer converts from the proto)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Flavor:
    id: str = ""
    name: str = ""
    vcpus: int = 0
    memory_mb: int = 0
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap: int = 0
    extra_specs: Mapping[str, str] = field(default_factory=dict)

    def swap_gb(self) -> int:
        # Nova rounds swap (MB) up to whole GB when it asks placement for disk.
        return math.ceil(self.swap / 1024)


@dataclass(slots=True)
class ImageMeta:
    id: str = ""
    name: str = ""
    disk_format: str = ""
    container_format: str = ""
    min_ram: int = 0
    min_disk: int = 0
    properties: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class InstanceGroup:
    uuid: str = ""
    policy: str = ""
    rules: Mapping[str, str] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)
    # Hosts the group's members run on; picks of this request are appended as they are made.
    hosts: list[str] = field(default_factory=list)

    def max_server_per_host(self) -> int:
        try:
            return max(1, int(self.rules.get("max_server_per_host", "1")))
        except ValueError:
            return 1


@dataclass(slots=True)
class Destination:
    host: str = ""
    node: str = ""
    cell_uuid: str = ""
    aggregates: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RequestSpec:
    project_id: str = ""
    user_id: str = ""
    flavor: Flavor = field(default_factory=Flavor)
    image: ImageMeta = field(default_factory=ImageMeta)
    availability_zone: str = ""
    scheduler_hints: Mapping[str, list[str]] = field(default_factory=dict)
    num_instances: int = 1
    ignore_hosts: list[str] = field(default_factory=list)
    force_hosts: list[str] = field(default_factory=list)
    force_nodes: list[str] = field(default_factory=list)
    requested_destination: Destination | None = None
    instance_group: InstanceGroup | None = None
    # (host, node) pairs already tried for this instance.
    retry_hosts: list[tuple[str, str]] = field(default_factory=list)
    num_attempts: int = 0
    is_bfv: bool = False
    member_of: list[str] = field(default_factory=list)
    # For a move: the cell the instance is in now (CrossCellWeigher prefers staying there).
    source_cell_uuid: str = ""
    # Per-request scratch space: filters cache what they parse from the spec here.
    scratch: dict[str, Any] = field(default_factory=dict)

    def hint(self, name: str) -> list[str]:
        return list(self.scheduler_hints.get(name, ()))

    def requested_disk_mb(self) -> int:
        root = 0 if self.is_bfv else self.flavor.root_gb
        return (root + self.flavor.ephemeral_gb) * 1024 + self.flavor.swap
