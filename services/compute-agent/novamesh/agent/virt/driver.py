"""The driver interface: what every driver must do, and the optional capabilities it may declare.

Capability names are the row keys of Nova's hypervisor support matrix (`operation.pause`,
`console.vnc` ...), so the project's own support matrix is generated from these declarations.
A driver lists what it supports in `capabilities`; where a capability needs code, the driver
must also implement the matching interface below, which `check_declarations` verifies when the
driver is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from novamesh.agent.virt.capabilities import KNOWN
from novamesh.agent.virt.guest_info import ConsoleEndpoint, Diagnostics
from novamesh.agent.virt.migration_job import LiveMigrationJobs
from novamesh.agent.virt.model import HostCapacity, InstanceInfo, InstanceSpec, NetworkInterface

# Rows every driver supports through the required interface.
REQUIRED_CAPABILITIES = frozenset(
    {
        "operation.launch",
        "operation.terminate",
        "operation.reboot",
        "operation.get-guest-info",
    }
)


@runtime_checkable
class Driver(Protocol):
    """The required interface. A driver may run several hosts (the fake driver simulates many)."""

    name: str
    # Support-matrix rows this driver implements (REQUIRED_CAPABILITIES included).
    capabilities: frozenset[str]

    async def init_host(self) -> None:
        """Connect to the hypervisor and recover what already runs there."""
        ...

    async def cleanup(self) -> None: ...

    def list_hosts(self) -> Sequence[str]: ...

    def get_host_capacity(self, host: str) -> HostCapacity: ...

    async def spawn(self, host: str, instance: InstanceSpec) -> Sequence[NetworkInterface]:
        """Create and start the guest; returns its network interfaces."""
        ...

    async def destroy(self, host: str, uuid: str) -> None:
        """Remove the guest; a guest that is already gone is not an error."""
        ...

    async def power_on(self, host: str, uuid: str) -> None: ...

    async def power_off(self, host: str, uuid: str) -> None: ...

    async def reboot(self, host: str, uuid: str, *, hard: bool) -> None: ...

    async def get_info(self, host: str, uuid: str) -> InstanceInfo: ...

    async def list_instances(self, host: str) -> Sequence[InstanceInfo]: ...


# ---- optional capabilities ------------------------------------------------------------


@runtime_checkable
class Pausable(Protocol):
    async def pause(self, host: str, uuid: str) -> None: ...

    async def unpause(self, host: str, uuid: str) -> None: ...


@runtime_checkable
class Suspendable(Protocol):
    async def suspend(self, host: str, uuid: str) -> None: ...

    async def resume(self, host: str, uuid: str) -> None: ...


@runtime_checkable
class Snapshottable(Protocol):
    async def snapshot(self, host: str, uuid: str, image_id: str) -> None: ...


@runtime_checkable
class Rescuable(Protocol):
    async def rescue(self, host: str, uuid: str, image_id: str, admin_pass: str) -> None: ...

    async def unrescue(self, host: str, uuid: str) -> None: ...


@runtime_checkable
class Resizable(Protocol):
    async def migrate_disk_and_power_off(self, host: str, uuid: str, dest_host: str) -> None: ...

    async def finish_migration(self, host: str, instance: InstanceSpec) -> None: ...

    async def confirm_migration(self, host: str, uuid: str) -> None: ...

    async def finish_revert_migration(self, host: str, instance: InstanceSpec) -> None: ...


@runtime_checkable
class ConsoleOutput(Protocol):
    async def get_console_output(self, host: str, uuid: str) -> str: ...


@runtime_checkable
class VncConsole(Protocol):
    async def get_vnc_console(self, host: str, uuid: str) -> tuple[str, int]:
        """(host, port) of the guest's VNC server."""
        ...


@runtime_checkable
class SpiceConsole(Protocol):
    async def get_spice_console(self, host: str, uuid: str) -> ConsoleEndpoint: ...


@runtime_checkable
class SerialConsole(Protocol):
    async def get_serial_console(self, host: str, uuid: str) -> ConsoleEndpoint: ...


@runtime_checkable
class GuestDiagnostics(Protocol):
    """Not a support-matrix row: a driver without it answers diagnostics requests with 501."""

    async def get_diagnostics(self, host: str, uuid: str) -> Diagnostics: ...


@runtime_checkable
class VolumeSwappable(Protocol):
    async def swap_volume(
        self, host: str, uuid: str, old_volume_id: str, new_volume_id: str
    ) -> None: ...


@runtime_checkable
class VolumeAttachable(Protocol):
    async def attach_volume(
        self, host: str, uuid: str, volume_id: str, device: str, size_gb: int = 0
    ) -> None: ...

    async def detach_volume(self, host: str, uuid: str, volume_id: str) -> None: ...


@runtime_checkable
class VolumeExtendable(Protocol):
    async def extend_volume(self, host: str, uuid: str, volume_id: str, size_gb: int) -> None:
        """Grow an attached volume to `size_gb` so the guest sees the new size."""
        ...


@runtime_checkable
class InterfaceAttachable(Protocol):
    async def attach_interface(
        self, host: str, uuid: str, port_id: str, network_id: str
    ) -> NetworkInterface: ...

    async def detach_interface(self, host: str, uuid: str, port_id: str) -> None: ...


@runtime_checkable
class LiveMigratable(Protocol):
    async def live_migration(self, host: str, uuid: str, dest_host: str) -> None: ...


@runtime_checkable
class AdminPasswordSettable(Protocol):
    async def set_admin_password(self, host: str, uuid: str, password: str) -> None: ...


@runtime_checkable
class CrashDumpable(Protocol):
    async def trigger_crash_dump(self, host: str, uuid: str) -> None: ...


@runtime_checkable
class HostUptime(Protocol):
    async def get_host_uptime(self, host: str) -> str: ...


# Which interface backs which support-matrix row. Rows absent here (e.g. guest.setup.configdrive)
# need no code beyond the required interface: declaring them is enough.
CAPABILITY_INTERFACES: dict[str, type] = {
    "operation.pause": Pausable,
    "operation.unpause": Pausable,
    "operation.suspend": Suspendable,
    "operation.resume": Suspendable,
    "operation.snapshot": Snapshottable,
    "operation.rescue": Rescuable,
    "operation.resize": Resizable,
    "console.serial.log": ConsoleOutput,
    "console.vnc": VncConsole,
    "console.spice": SpiceConsole,
    "console.serial.interactive": SerialConsole,
    "operation.swap-volume": VolumeSwappable,
    "operation.attach-volume": VolumeAttachable,
    "operation.detach-volume": VolumeAttachable,
    "operation.extend-volume": VolumeExtendable,
    "operation.attach-interface": InterfaceAttachable,
    "operation.detach-interface": InterfaceAttachable,
    "operation.live-migrate": LiveMigratable,
    "operation.force-live-migration-to-complete": LiveMigrationJobs,
    "operation.abort-in-progress-live-migration": LiveMigrationJobs,
    "operation.set-admin-password": AdminPasswordSettable,
    "operation.trigger-crash-dump": CrashDumpable,
    "operation.get-host-uptime": HostUptime,
}

# Placement traits a capability implies on every host of the driver (os-traits names).
CAPABILITY_TRAITS: dict[str, str] = {
    "operation.attach-interface": "COMPUTE_NET_ATTACH_INTERFACE",
    "operation.attach-tagged-interface": "COMPUTE_NET_ATTACH_INTERFACE_WITH_TAG",
    "operation.attach-tagged-volume": "COMPUTE_VOLUME_ATTACH_WITH_TAG",
    "operation.extend-volume": "COMPUTE_VOLUME_EXTEND",
    "operation.multiattach-volume": "COMPUTE_VOLUME_MULTI_ATTACH",
    "operation.device-tags": "COMPUTE_DEVICE_TAGGING",
    "operation.trusted-certs": "COMPUTE_TRUSTED_CERTS",
    "operation.boot-encrypted-vm": "COMPUTE_MEM_ENCRYPTION",
    "operation.boot-emulated-tpm": "COMPUTE_SECURITY_TPM_2_0",
}


def supports(driver: Driver, capability: str) -> bool:
    return capability in driver.capabilities


def check_declarations(driver: Driver) -> None:
    """Refuse a driver that declares a capability it does not implement, or lacks a required one."""
    unknown = driver.capabilities - KNOWN
    if unknown:
        raise TypeError(
            f"driver {driver.name} declares {', '.join(sorted(unknown))}, "
            "which are not support-matrix rows"
        )
    missing = REQUIRED_CAPABILITIES - driver.capabilities
    if missing:
        raise TypeError(f"driver {driver.name} does not declare {', '.join(sorted(missing))}")
    for capability in sorted(driver.capabilities):
        interface = CAPABILITY_INTERFACES.get(capability)
        if interface is not None and not isinstance(driver, interface):
            raise TypeError(
                f"driver {driver.name} declares {capability} but does not implement "
                f"{interface.__name__}"
            )


def host_traits(driver: Driver, capacity: HostCapacity) -> list[str]:
    """The traits to set on a host's compute node provider."""
    traits = {"COMPUTE_NODE", *capacity.traits}
    traits.update(t for c, t in CAPABILITY_TRAITS.items() if c in driver.capabilities)
    return sorted(traits)
