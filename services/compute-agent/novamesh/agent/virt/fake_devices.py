"""The fake driver's guest devices: diagnostics, console endpoints, interface and volume
attachments. Attached volumes live on the guest (`volumes`: volume id -> device) and are saved
with it; attached interfaces join the guest's interfaces, so the next info report shows them.
"""

from __future__ import annotations

import ipaddress
import time
import uuid as uuidlib
import zlib
from typing import TYPE_CHECKING, Protocol

from novamesh.agent.states import PowerState
from novamesh.agent.virt.guest_info import (
    ConsoleEndpoint,
    CpuDiagnostics,
    Diagnostics,
    DiskDiagnostics,
    NicDiagnostics,
)
from novamesh.agent.virt.model import InvalidInstanceState, NetworkInterface

if TYPE_CHECKING:
    from novamesh.agent.virt.fake import FakeSettings

# The fake's console servers: one port per guest above each protocol's base.
_CONSOLE_BASE_PORTS = {"vnc": 5900, "spice": 5700, "serial": 10000}
_STATES = {
    PowerState.RUNNING: "running",
    PowerState.PAUSED: "paused",
    PowerState.SHUTDOWN: "shutdown",
    PowerState.CRASHED: "crashed",
    PowerState.SUSPENDED: "suspended",
}
DEVICE_CAPABILITIES = frozenset(
    {
        "console.vnc",
        "console.spice",
        "console.serial.interactive",
        "operation.attach-volume",
        "operation.attach-tagged-volume",
        "operation.detach-volume",
        "operation.extend-volume",
        "operation.swap-volume",
        "operation.attach-interface",
        "operation.attach-tagged-interface",
        "operation.detach-interface",
    }
)


class _Guest(Protocol):
    uuid: str
    power_state: PowerState
    vcpus: int
    memory_mb: int
    disk_gb: int
    interfaces: list[NetworkInterface]
    volumes: dict[str, str]
    volume_sizes: dict[str, int]

    def log(self, line: str) -> None: ...


class FakeDevices:
    """Mixed into FakeDriver, whose guests and address pool it uses."""

    _started: float
    _used_addresses: set[str]
    _settings: FakeSettings

    if TYPE_CHECKING:  # provided by FakeDriver

        def _guest(self, host: str, uuid: str) -> _Guest: ...

        def _changed(self) -> None: ...

        def _next_address(self) -> str: ...

    async def get_diagnostics(self, host: str, uuid: str) -> Diagnostics:
        g = self._guest(host, uuid)
        running = g.power_state == PowerState.RUNNING
        # Counters derived from the guest's id, so repeated calls agree with each other.
        seed = zlib.crc32(g.uuid.encode())
        return Diagnostics(
            state=_STATES.get(g.power_state, "pending"),
            driver="fake",
            hypervisor="fake",
            hypervisor_os="novamesh",
            uptime=int(time.monotonic() - self._started) if running else 0,
            config_drive=False,
            memory_maximum=g.memory_mb * 1024,
            memory_used=g.memory_mb * 512 if running else 0,
            cpu_details=[
                CpuDiagnostics(id=i, time=17_300_000_000 + i, utilisation=seed % 100)
                for i in range(g.vcpus)
            ],
            nic_details=[
                NicDiagnostics(
                    mac_address=vif.mac_address,
                    rx_octets=seed % 10_000_000,
                    rx_errors=0,
                    rx_drop=0,
                    rx_packets=seed % 100_000,
                    tx_octets=seed % 1_000_000,
                    tx_errors=0,
                    tx_drop=0,
                    tx_packets=seed % 10_000,
                )
                for vif in g.interfaces
            ],
            disk_details=[
                DiskDiagnostics(
                    read_bytes=262144, read_requests=112, write_bytes=5778432, write_requests=488
                )
                for _ in range(1 + len(g.volumes))
            ],
        )

    def _endpoint(self, host: str, uuid: str, protocol: str) -> ConsoleEndpoint:
        g = self._guest(host, uuid)
        if self._settings.console_address:
            address, _, port = self._settings.console_address.rpartition(":")
            return ConsoleEndpoint(address, int(port))
        offset = zlib.crc32(g.uuid.encode()) % 1000
        return ConsoleEndpoint("127.0.0.1", _CONSOLE_BASE_PORTS[protocol] + offset)

    async def get_vnc_console(self, host: str, uuid: str) -> tuple[str, int]:
        endpoint = self._endpoint(host, uuid, "vnc")
        return endpoint.host, endpoint.port

    async def get_spice_console(self, host: str, uuid: str) -> ConsoleEndpoint:
        plain = self._endpoint(host, uuid, "spice")
        # A SPICE server also listens for TLS, the port after its plain one (as Nova's fake).
        return ConsoleEndpoint(plain.host, plain.port, tls_port=plain.port + 1)

    async def get_serial_console(self, host: str, uuid: str) -> ConsoleEndpoint:
        return self._endpoint(host, uuid, "serial")

    async def attach_interface(
        self, host: str, uuid: str, port_id: str, network_id: str
    ) -> NetworkInterface:
        g = self._guest(host, uuid)
        if any(v.port_id == port_id for v in g.interfaces):
            raise InvalidInstanceState(f"port {port_id} is already attached to {uuid}")
        address = self._next_address()
        self._used_addresses.add(address)
        mac = uuidlib.uuid5(uuidlib.NAMESPACE_OID, port_id).bytes[:3]
        vif = NetworkInterface(
            network=network_id or "private",
            address=address,
            version=ipaddress.ip_address(address).version,
            mac_address="fa:16:3e:" + ":".join(f"{b:02x}" for b in mac),
            port_id=port_id,
        )
        g.interfaces.append(vif)
        g.log(f"hot-plugged port {port_id}")
        self._changed()
        return vif

    async def detach_interface(self, host: str, uuid: str, port_id: str) -> None:
        g = self._guest(host, uuid)
        gone = [v for v in g.interfaces if v.port_id == port_id]
        g.interfaces = [v for v in g.interfaces if v.port_id != port_id]
        self._used_addresses.difference_update(v.address for v in gone)
        g.log(f"unplugged port {port_id}")
        self._changed()

    async def attach_volume(
        self, host: str, uuid: str, volume_id: str, device: str, size_gb: int = 0
    ) -> None:
        g = self._guest(host, uuid)
        if device in g.volumes.values() and g.volumes.get(volume_id) != device:
            raise InvalidInstanceState(f"device {device} of {uuid} is in use")
        g.volumes[volume_id] = device
        if size_gb:
            g.volume_sizes[volume_id] = size_gb
        g.log(f"attached volume {volume_id} at {device}")
        self._changed()

    async def detach_volume(self, host: str, uuid: str, volume_id: str) -> None:
        g = self._guest(host, uuid)
        g.volumes.pop(volume_id, None)
        g.volume_sizes.pop(volume_id, None)
        g.log(f"detached volume {volume_id}")
        self._changed()

    async def extend_volume(self, host: str, uuid: str, volume_id: str, size_gb: int) -> None:
        g = self._guest(host, uuid)
        if volume_id not in g.volumes:
            raise InvalidInstanceState(f"volume {volume_id} is not attached to {uuid}")
        g.volume_sizes[volume_id] = size_gb
        g.log(f"volume {volume_id} grew to {size_gb} GiB")
        self._changed()

    async def swap_volume(
        self, host: str, uuid: str, old_volume_id: str, new_volume_id: str
    ) -> None:
        g = self._guest(host, uuid)
        if old_volume_id not in g.volumes:
            raise InvalidInstanceState(f"volume {old_volume_id} is not attached to {uuid}")
        g.volumes[new_volume_id] = g.volumes.pop(old_volume_id)
        g.log(f"swapped volume {old_volume_id} for {new_volume_id}")
        self._changed()
