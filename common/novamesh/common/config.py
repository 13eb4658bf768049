"""Configuration: a TOML file, then environment variables on top.

Every setting has an embedded default so that `make run` works with no file at all. A file is
named by `--config PATH` or `NOVAMESH_CONFIG`; any key can then be overridden by an environment
variable `NOVAMESH__<SECTION>__<KEY>` (for example `NOVAMESH__DATABASE__API_URL`).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

ENV_PREFIX = "NOVAMESH__"


@dataclass
class Endpoints:
    """Where each service's gRPC server listens (host:port), and the public REST edges."""

    gateway: str = "127.0.0.1:50051"
    router: str = "127.0.0.1:50052"
    scheduler: str = "127.0.0.1:50053"
    placement: str = "127.0.0.1:50054"
    agent: str = "127.0.0.1:50055"
    compute_public_url: str = "http://127.0.0.1:8774"
    placement_public_url: str = "http://127.0.0.1:8778"
    image_public_url: str = "http://127.0.0.1:9292"


@dataclass
class DatabaseConfig:
    """SQLAlchemy URLs. Cell databases are named by the cell mappings in the API database."""

    api_url: str = "sqlite:///{state_dir}/api.db"
    placement_url: str = "sqlite:///{state_dir}/placement.db"
    cell0_url: str = "sqlite:///{state_dir}/cell0.db"
    cell1_url: str = "sqlite:///{state_dir}/cell1.db"
    echo: bool = False


@dataclass
class TelemetryConfig:
    """OTLP export when an endpoint is set; otherwise spans go to JSON lines under trace_dir."""

    otlp_endpoint: str = ""
    trace_dir: str = "{state_dir}/traces"
    enabled: bool = True


@dataclass
class RedisConfig:
    """Empty url: in-process equivalents (one machine, no Redis)."""

    url: str = ""


@dataclass
class AuthConfig:
    """`noauth`: X-Auth-Token is `user[:project]`; user `admin` gets the admin role."""

    strategy: str = "noauth"
    default_user: str = "admin"
    default_project: str = "admin"


@dataclass
class AgentConfig:
    """A compute agent: its driver, and for the fake driver how many hosts it simulates."""

    driver: str = "fake"
    host_prefix: str = "fake-host"
    host_count: int = 4
    hosts: list[str] = field(default_factory=list)
    vcpus: int = 16
    memory_mb: int = 32768
    disk_gb: int = 500
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    reserved_host_memory_mb: int = 512
    heartbeat_interval: float = 5.0
    spawn_seconds: float = 0.0
    availability_zone: str = "nova"
    # The fake driver's simulated host topology (NUMATopologyFilter, PciPassthroughFilter):
    # NUMA cells per host, and PCI devices per host as "vendor_id:product_id:count".
    numa_nodes: int = 2
    pci_devices: list[str] = field(default_factory=list)
    # host:port the fake driver reports as every guest's console (a test's console server);
    # empty: a simulated port per guest, where nothing listens.
    fake_console_address: str = ""
    # Seconds the fake driver's live migration takes, reporting progress on the way (0: it is
    # instant); long enough, a running migration can be forced to complete or aborted.
    fake_live_migration_seconds: float = 0.0


@dataclass
class SchedulerConfig:
    enabled_filters: list[str] = field(
        default_factory=lambda: [
            "ComputeFilter",
            "AvailabilityZoneFilter",
            "ComputeCapabilitiesFilter",
            "ImagePropertiesFilter",
            "ServerGroupAntiAffinityFilter",
            "ServerGroupAffinityFilter",
        ]
    )
    weighers: list[str] = field(
        default_factory=lambda: [
            "RAMWeigher",
            "CPUWeigher",
            "DiskWeigher",
            "IoOpsWeigher",
            "ServerGroupSoftAffinityWeigher",
            "ServerGroupSoftAntiAffinityWeigher",
            "BuildFailureWeigher",
            "CrossCellWeigher",
        ]
    )
    max_placement_results: int = 1000
    max_attempts: int = 3
    host_subset_size: int = 1
    # Shuffle hosts whose weights tie for best (spreads identical hosts across replicas).
    shuffle_best_same_weighed_hosts: bool = False
    # How often the aggregates (and their metadata) are re-read from the API database and
    # mirrored into placement: how long an os-aggregates change takes to affect scheduling.
    aggregate_refresh_interval: float = 2.0
    # Placement pre-filters (need the aggregates mirrored in placement): ask only for hosts of
    # the requested zone's aggregates / of the aggregates a project is isolated to.
    query_placement_for_availability_zone: bool = False
    limit_tenants_to_placement_aggregate: bool = False
    # With tenant limiting on: projects no aggregate names get no host at all.
    placement_aggregate_required_for_tenants: bool = False
    max_instances_per_host: int = 50
    max_io_ops_per_host: int = 8
    isolated_images: list[str] = field(default_factory=list)
    isolated_hosts: list[str] = field(default_factory=list)
    restrict_isolated_hosts_to_isolated_images: bool = True
    aggregate_image_properties_isolation_namespace: str = ""
    aggregate_image_properties_isolation_separator: str = "."
    # PCI aliases, each "name:vendor_id:product_id" (flavor extra spec pci_passthrough:alias).
    pci_alias: list[str] = field(default_factory=list)
    # MetricsFilter/MetricsWeigher: "name=ratio" entries.
    metrics_weight_setting: list[str] = field(default_factory=list)
    metrics_required: bool = True
    metrics_weight_of_unavailable: float = -10000.0
    # Weigher multipliers (an aggregate's metadata key of the same name overrides them).
    ram_weight_multiplier: float = 1.0
    cpu_weight_multiplier: float = 1.0
    disk_weight_multiplier: float = 1.0
    io_ops_weight_multiplier: float = -1.0
    metrics_weight_multiplier: float = 1.0
    soft_affinity_weight_multiplier: float = 1.0
    soft_anti_affinity_weight_multiplier: float = 1.0
    build_failure_weight_multiplier: float = 1000000.0
    num_instances_weight_multiplier: float = 0.0
    cross_cell_move_weight_multiplier: float = 1000000.0


@dataclass
class ApiConfig:
    max_limit: int = 1000
    reclaim_instance_interval: int = 0
    # Nova's [DEFAULT] max_local_block_devices: local disks a boot may map (-1: no limit).
    max_local_block_devices: int = 3


@dataclass
class QuotaConfig:
    """Default quota limits (Nova's [quota] section); -1 is unlimited."""

    instances: int = 10
    cores: int = 20
    ram: int = 51200
    metadata_items: int = 128
    injected_files: int = 5
    injected_file_content_bytes: int = 10240
    injected_file_path_length: int = 255
    key_pairs: int = 100
    server_groups: int = 10
    server_group_members: int = 10


@dataclass
class NetworkProxyConfig:
    """The networks the deprecated os-networks / os-tenant-networks proxies list, by name."""

    networks: list[str] = field(default_factory=lambda: ["private", "public"])


@dataclass
class ImageConfig:
    """The built-in image service (Glance v2 subset) served by the api-gateway."""

    # Where image bits live, one file per image id.
    store_dir: str = "{state_dir}/images"
    # Largest image accepted, in bytes (Glance's image_size_cap); bigger uploads get a 413.
    max_image_size: int = 1024**4
    limit_param_default: int = 25
    api_limit_max: int = 1000
    disk_formats: list[str] = field(
        default_factory=lambda: [
            "ami",
            "ari",
            "aki",
            "vhd",
            "vhdx",
            "vmdk",
            "raw",
            "qcow2",
            "vdi",
            "iso",
            "ploop",
        ]
    )
    container_formats: list[str] = field(
        default_factory=lambda: ["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]
    )


@dataclass
class CellsConfig:
    """The cells router: which cell it serves, and how it reads across cells."""

    # The cell whose agents connect to this router (name or uuid). Empty: the cell whose
    # transport URL is this router's endpoint, else the cell named cell1.
    cell: str = ""
    # Per-cell time limit of a scatter-gather list; a cell slower than this is left out.
    list_timeout: float = 2.0
    # How often the router re-reads the cell mappings.
    refresh_interval: float = 30.0
    # How often the router maps compute hosts found in the cell databases (nova's
    # discover_hosts_in_cells_interval); 0 or less: never (agents are mapped when they register).
    discover_hosts_interval: float = 0.0


@dataclass
class PlacementConfig:
    """The placement service."""

    # Policy defaults, as upstream placement's: "legacy" (admin or service role; the deprecated
    # rules still apply), "secure" (the new defaults: reshaper is service-only, usages are open
    # to the project's readers) or "open" (every rule but admin_api allows any token).
    policy: str = "legacy"
    # A request without X-Auth-Token acts as [auth] default_user (an admin), as the gateway's
    # does, so the CLI with `auth_type: none` works on a development mesh; false: a 401, as
    # upstream's noauth2 answers (its tests expect that).
    anonymous_as_default_user: bool = True


@dataclass
class LibvirtConfig:
    """The libvirt driver (an agent with `driver = "libvirt"` runs one real host)."""

    # "qemu" (TCG), "kvm" where the host has it, or "lxc" (containers).
    virt_type: str = "qemu"
    # Empty: "<virt_type>:///system" ("qemu:///system" for kvm).
    connection_uri: str = ""
    # The compute host's name; empty: the hypervisor's hostname.
    host: str = ""
    # Per-host state: instance directories, the image cache (_base), local volumes.
    instances_path: str = "{state_dir}/libvirt"
    # The libvirt network guests join; created (isolated) when it does not exist.
    network_name: str = "novamesh"
    network_bridge: str = "nmbr0"
    # Seconds between power-state syncs (lifecycle events do the work; this catches misses).
    sync_power_state_interval: float = 60.0
    # Seconds a soft stop or soft reboot waits for the guest before forcing it.
    clean_shutdown_timeout: float = 20.0
    # Disk space kept for the host itself, out of what the instances path's filesystem has.
    reserved_disk_gb: int = 0
    # The token the agent uploads snapshots with (the image service's REST API).
    image_token: str = "admin:admin"
    # Other libvirt hosts by compute host name: their instances paths as reachable from this
    # host (resize and cold migration copy the guest there; a shared mount, or on one machine
    # the other host's local path), and their daemons' URIs (live migration, peer to peer).
    peer_instances_paths: dict[str, str] = field(default_factory=dict)
    peer_uris: dict[str, str] = field(default_factory=dict)
    # Live migration as Nova's options of the same names: the copy's bandwidth cap in MiB/s
    # (0: none), and whether force-complete may switch to post-copy (else the guest is paused
    # until the copy converges).
    live_migration_bandwidth: int = 0
    live_migration_permit_post_copy: bool = False


@dataclass
class ActionsConfig:
    """Server actions run by the router (resize, migrate ...)."""

    # Seconds after which a resize or cold migration waiting for confirmation is confirmed
    # automatically (Nova's resize_confirm_window); 0 never confirms on its own.
    resize_confirm_window: int = 0
    # Seconds a shelved server keeps its host before it is offloaded (Nova's
    # shelved_offload_time): 0 offloads at once, -1 never.
    shelved_offload_time: int = 0
    # Nova's allow_resize_to_same_host: a resize may pick the host the server is on (a single
    # host, or drivers that resize in place).
    allow_resize_to_same_host: bool = False
    # How often the router looks for moves to confirm, servers to offload or reclaim.
    periodic_interval: float = 10.0


@dataclass
class ConsoleConfig:
    """The remote console proxy (Nova's novncproxy and serialproxy) the gateway runs on its own
    port; Envoy's compute listener sends websocket upgrades and /console/ paths to it."""

    listen: str = "127.0.0.1:6080"
    # noVNC's HTML and JavaScript (the Debian/Ubuntu `novnc` package installs them here).
    novnc_path: str = "/usr/share/novnc"
    # Origins (host[:port]) allowed besides the Host the request was sent to (Nova's
    # [console] allowed_origins).
    allowed_origins: list[str] = field(default_factory=list)
    # Where users reach each console type when not through this gateway's proxy (Nova's
    # [vnc] novncproxy_base_url, [serial_console] base_url, [spice] html5proxy_base_url and
    # spice_direct_proxy_base_url); empty: the proxy under the compute endpoint asked.
    novncproxy_base_url: str = ""
    serialproxy_base_url: str = ""
    html5proxy_base_url: str = ""
    spice_direct_proxy_base_url: str = ""


@dataclass
class Config:
    state_dir: str = ".novamesh"
    log_level: str = "INFO"
    endpoints: Endpoints = field(default_factory=Endpoints)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    redis: RedisConfig = field(default_factory=RedisConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    quota: QuotaConfig = field(default_factory=QuotaConfig)
    network_proxy: NetworkProxyConfig = field(default_factory=NetworkProxyConfig)
    image: ImageConfig = field(default_factory=ImageConfig)
    cells: CellsConfig = field(default_factory=CellsConfig)
    actions: ActionsConfig = field(default_factory=ActionsConfig)
    placement: PlacementConfig = field(default_factory=PlacementConfig)
    libvirt: LibvirtConfig = field(default_factory=LibvirtConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)

    def expand(self, value: str) -> str:
        """Substitute `{state_dir}` in a path or URL setting."""
        return value.replace("{state_dir}", str(Path(self.state_dir).resolve()))


T = TypeVar("T")


def _coerce(raw: Any, tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (list, typing.List):  # noqa: UP006
        (item_tp,) = typing.get_args(tp)
        items = raw if isinstance(raw, list) else [s for s in str(raw).split(",") if s.strip()]
        return [_coerce(i.strip() if isinstance(i, str) else i, item_tp) for i in items]
    if origin in (typing.Union, types.UnionType):
        return raw
    if tp is bool:
        if isinstance(raw, bool):
            return raw
        return str(raw).strip().lower() in ("1", "true", "yes", "on")
    if tp is int:
        return int(raw)
    if tp is float:
        return float(raw)
    if tp is str:
        return str(raw)
    return raw


def _build(cls: type[T], data: dict[str, Any], env: dict[str, str], prefix: str) -> T:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        tp = hints[f.name]
        env_key = f"{prefix}{f.name.upper()}"
        if dataclasses.is_dataclass(tp):
            sub = data.get(f.name, {})
            if not isinstance(sub, dict):
                raise ValueError(f"[{f.name}] must be a table")
            kwargs[f.name] = _build(tp, sub, env, env_key + "__")  # type: ignore[arg-type]
            continue
        if env_key in env:
            kwargs[f.name] = _coerce(env[env_key], tp)
        elif f.name in data:
            kwargs[f.name] = _coerce(data[f.name], tp)
    unknown = set(data) - {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    if unknown:
        raise ValueError(f"unknown configuration keys: {', '.join(sorted(unknown))}")
    return cls(**kwargs)


def load(path: str | None = None, env: dict[str, str] | None = None) -> Config:
    """Load the configuration: defaults, then the TOML file, then NOVAMESH__* variables."""
    env = dict(os.environ) if env is None else env
    path = path or env.get("NOVAMESH_CONFIG")
    data: dict[str, Any] = {}
    if path:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    return _build(Config, data, env, ENV_PREFIX)
