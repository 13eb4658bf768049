"""A guest's devices and consoles on the host: diagnostics, console endpoints, interface and
volume attachments, each answered with data for the router (keys in agent.v1's
guest_devices.proto).

Reads (diagnostics, consoles) do not take the instance's lock; attachments do, so they never
interleave with a power action or a move of the same guest.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from novamesh.agent import device_commands as dc
from novamesh.agent.virt import driver as drv
from novamesh.agent.virt.guest_info import ConsoleEndpoint, console_data, diagnostics_data
from novamesh.agent.virt.model import DriverError, NotSupported

LockFactory = Callable[[str], AbstractAsyncContextManager[None]]

# Console protocol -> the support-matrix row that declares it.
CONSOLE_CAPABILITIES = {
    "vnc": "console.vnc",
    "spice": "console.spice",
    "serial": "console.serial.interactive",
    "rdp": "console.rdp",
}


@dataclass
class DeviceResult:
    error: DriverError | None = None
    data: dict[str, str] = field(default_factory=dict)


class DeviceRunner:
    def __init__(self, driver: drv.Driver, lock: LockFactory) -> None:
        self._driver = driver
        self._lock = lock

    @staticmethod
    def span_name(command: dc.DeviceCommand) -> str:
        return f"agent.{type(command).__name__.lower()}"

    async def run(self, host: str, command: dc.DeviceCommand) -> DeviceResult:
        try:
            if isinstance(command, dc.GetHostUptime):
                return DeviceResult(data={"uptime": await self._uptime(host)})
            if isinstance(command, dc.GetDiagnostics | dc.GetConsole):
                return DeviceResult(data=await self._read(host, command))
            async with self._lock(command.uuid):
                return DeviceResult(data=await self._change(host, command))
        except DriverError as exc:
            return DeviceResult(exc)

    async def _uptime(self, host: str) -> str:
        self._need("operation.get-host-uptime")
        if not isinstance(self._driver, drv.HostUptime):
            raise NotSupported(f"the {self._driver.name} driver does not support host uptime")
        return await self._driver.get_host_uptime(host)

    async def _read(self, host: str, c: dc.GetDiagnostics | dc.GetConsole) -> dict[str, str]:
        if isinstance(c, dc.GetDiagnostics):
            if not isinstance(self._driver, drv.GuestDiagnostics):
                raise NotSupported(f"the {self._driver.name} driver does not support diagnostics")
            return diagnostics_data(await self._driver.get_diagnostics(host, c.uuid))
        return console_data(await self._console(host, c))

    async def _console(self, host: str, c: dc.GetConsole) -> ConsoleEndpoint:
        capability = CONSOLE_CAPABILITIES.get(c.protocol, f"console.{c.protocol}")
        self._need(capability)
        d = self._driver
        if c.protocol == "vnc" and isinstance(d, drv.VncConsole):
            vnc_host, port = await d.get_vnc_console(host, c.uuid)
            return ConsoleEndpoint(vnc_host, port)
        if c.protocol == "spice" and isinstance(d, drv.SpiceConsole):
            return await d.get_spice_console(host, c.uuid)
        if c.protocol == "serial" and isinstance(d, drv.SerialConsole):
            return await d.get_serial_console(host, c.uuid)
        raise NotSupported(f"the {d.name} driver does not support {capability}")

    async def _change(self, host: str, c: dc.DeviceCommand) -> dict[str, str]:
        d = self._driver
        match c:
            case dc.AttachInterface():
                self._need("operation.attach-interface")
                assert isinstance(d, drv.InterfaceAttachable)
                vif = await d.attach_interface(host, c.uuid, c.port_id, c.network_id)
                return {
                    "port_id": vif.port_id,
                    "network": vif.network,
                    "address": vif.address,
                    "version": str(vif.version),
                    "mac_address": vif.mac_address,
                    "tag": c.tag,
                }
            case dc.DetachInterface():
                self._need("operation.detach-interface")
                assert isinstance(d, drv.InterfaceAttachable)
                await d.detach_interface(host, c.uuid, c.port_id)
            case dc.AttachVolume():
                self._need("operation.attach-volume")
                assert isinstance(d, drv.VolumeAttachable)
                await d.attach_volume(host, c.uuid, c.volume_id, c.device, c.size_gb)
                return {"device": c.device}
            case dc.DetachVolume():
                self._need("operation.detach-volume")
                assert isinstance(d, drv.VolumeAttachable)
                await d.detach_volume(host, c.uuid, c.volume_id)
            case dc.SwapVolume():
                self._need("operation.swap-volume")
                assert isinstance(d, drv.VolumeSwappable)
                await d.swap_volume(host, c.uuid, c.old_volume_id, c.new_volume_id)
        return {}

    def _need(self, capability: str) -> None:
        if not drv.supports(self._driver, capability):
            raise NotSupported(f"the {self._driver.name} driver does not support {capability}")
