"""The types drivers speak: what to spawn, what a host offers, what a guest looks like now."""

from __future__ import annotations

from dataclasses import dataclass, field

from novamesh.agent.states import PowerState


@dataclass(frozen=True)
class RequestedNetwork:
    network_id: str = ""
    port_id: str = ""
    fixed_ip: str = ""
    tag: str = ""


@dataclass(frozen=True)
class BlockDevice:
    """One of the boot's block devices (its mapping, as the gateway normalised it)."""

    source_type: str
    destination_type: str
    boot_index: int = -1
    device_name: str = ""
    # GiB (MiB for swap).
    volume_size: int = 0
    image_id: str = ""
    volume_id: str = ""
    guest_format: str = ""

    @property
    def is_volume(self) -> bool:
        return self.destination_type == "volume" and bool(self.volume_id)


@dataclass(frozen=True)
class InstanceSpec:
    """What the router asked this host to run."""

    uuid: str
    name: str = ""
    hostname: str = ""
    project_id: str = ""
    user_id: str = ""
    flavor_name: str = ""
    vcpus: int = 1
    memory_mb: int = 512
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap_mb: int = 0
    image_id: str = ""
    image_properties: dict[str, str] = field(default_factory=dict)
    # The flavor's extra specs (e.g. quota:disk_* I/O limits the libvirt driver applies).
    flavor_extra_specs: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    user_data: str = ""
    key_name: str = ""
    key_data: str = ""
    admin_pass: str = ""
    config_drive: bool = False
    # Empty means Nova's "auto": one port on the default network.
    networks: tuple[RequestedNetwork, ...] = ()
    node: str = ""
    # The boot's block devices, root first; volumes among them are the built-in store's.
    block_devices: tuple[BlockDevice, ...] = ()

    @property
    def volumes(self) -> tuple[BlockDevice, ...]:
        return tuple(b for b in self.block_devices if b.is_volume)

    @property
    def boots_from_volume(self) -> bool:
        return any(b.boot_index == 0 for b in self.volumes)

    @property
    def disk_gb(self) -> int:
        """Local disk the guest occupies (swap counted in whole GiB, rounded up); a root
        volume is not local (as placement counts a volume-backed server)."""
        root = 0 if self.boots_from_volume else self.root_gb
        return root + self.ephemeral_gb + (self.swap_mb + 1023) // 1024


@dataclass(frozen=True)
class NetworkInterface:
    network: str
    address: str
    version: int = 4
    mac_address: str = ""
    port_id: str = ""
    tag: str = ""


@dataclass(frozen=True)
class InstanceInfo:
    """A guest as the hypervisor sees it, with the resources it occupies."""

    uuid: str
    host: str
    power_state: PowerState
    vcpus: int = 0
    memory_mb: int = 0
    disk_gb: int = 0
    interfaces: tuple[NetworkInterface, ...] = ()


@dataclass(frozen=True)
class HostCapacity:
    """A host's size and identity; usage is tracked by the agent, not the driver."""

    host: str
    nodename: str
    hypervisor_type: str
    hypervisor_version: int
    vcpus: int
    memory_mb: int
    local_gb: int
    host_ip: str = ""
    cpu_info: str = ""
    # Extra placement traits of this host beyond those implied by capabilities.
    traits: tuple[str, ...] = ()


class DriverError(Exception):
    """A driver operation failed. `retryable`: another host could succeed (reschedule)."""

    retryable = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class InstanceNotFound(DriverError):
    pass


class InvalidInstanceState(DriverError):
    """The guest is not in a power state the operation accepts."""


class InsufficientCapacity(DriverError):
    retryable = True


class NotSupported(DriverError):
    """The driver does not declare the capability the operation needs."""
