"""The libvirt driver: one real host, guests as libvirt domains (QEMU/TCG, KVM or LXC).

Every guest is a persistent domain named `instance-<uuid>` whose files live in
`<instances_path>/<uuid>`; its spec is kept beside them, so the domain XML can be rebuilt for a
restart, a resize or an unrescue. Power changes the guest makes on its own arrive as libvirt
lifecycle events (see connection.py); a periodic sync catches any that were missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Coroutine, Sequence

import libvirt
from novamesh.agent.states import PowerState
from novamesh.agent.virt.guest_info import Diagnostics
from novamesh.agent.virt.libvirt import configdrive, diagnostics, hostinfo, imagebackend, network
from novamesh.agent.virt.libvirt.capabilities import CAPABILITIES
from novamesh.agent.virt.libvirt.connection import Connection, power_state
from novamesh.agent.virt.libvirt.devices import DeviceOps
from novamesh.agent.virt.libvirt.guest import (
    Disk,
    GuestConfig,
    Interface,
    domain_xml,
    iotune_from_extra_specs,
)
from novamesh.agent.virt.libvirt.imagebackend import ImageCache
from novamesh.agent.virt.libvirt.instances import InstanceFiles
from novamesh.agent.virt.libvirt.moves import MoveOps, notes_power
from novamesh.agent.virt.libvirt.settings import EVENT_SETTLE_SECONDS, LibvirtSettings, domain_name
from novamesh.agent.virt.model import (
    DriverError,
    HostCapacity,
    InstanceInfo,
    InstanceNotFound,
    InstanceSpec,
    InvalidInstanceState,
    NetworkInterface,
    RequestedNetwork,
)

LOG = logging.getLogger(__name__)

# (host, instance uuid, power state now)
PowerEventHandler = Callable[[str, str, PowerState], None]


class LibvirtDriver(MoveOps, DeviceOps):
    name = "libvirt"

    def __init__(self, settings: LibvirtSettings, image_source: imagebackend.ImageSource) -> None:
        if settings.virt_type not in CAPABILITIES:
            raise ValueError(f"unsupported libvirt virt_type {settings.virt_type!r}")
        self.settings = settings
        self.capabilities = CAPABILITIES[settings.virt_type]
        self.images = ImageCache(settings.instances_path, image_source)
        self._conn = Connection(settings.uri)
        self._host = settings.host or socket.gethostname()
        self._capacity: HostCapacity | None = None
        self._handlers: list[PowerEventHandler] = []
        self._sync_task: asyncio.Task[None] | None = None
        self._last_power: dict[str, PowerState] = {}
        self._settling: dict[str, asyncio.TimerHandle] = {}
        self._event_tasks: set[asyncio.Future[None]] = set()

    @property
    def _lxc(self) -> bool:
        return self.settings.virt_type == "lxc"

    @property
    def _shutdown_mode(self) -> int:
        # A container has no ACPI: its init gets SIGTERM.
        mode: int = (
            libvirt.VIR_DOMAIN_SHUTDOWN_SIGNAL
            if self._lxc
            else libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN
        )
        return mode

    # ---- host -----------------------------------------------------------------------------

    async def init_host(self) -> None:
        await self._conn.open()
        conn = self._conn.conn
        await self._conn.call(
            network.ensure_network, conn, self.settings.network_name, self.settings.network_bridge
        )
        self._capacity = await self._conn.call(self._read_capacity)
        self._conn.watch_lifecycle(self._on_event)
        self._sync_task = asyncio.create_task(self._sync_loop(), name="libvirt-power-sync")

    def _read_capacity(self) -> HostCapacity:
        conn = self._conn.conn
        cpu = hostinfo.cpu_from_capabilities(conn.getCapabilities())
        info = conn.getInfo()
        return HostCapacity(
            host=self._host,
            nodename=self._host,
            hypervisor_type="QEMU" if self.settings.virt_type != "lxc" else "LXC",
            hypervisor_version=conn.getVersion(),
            vcpus=int(info[2]),
            memory_mb=hostinfo.memory_mb(),
            local_gb=hostinfo.disk_gb(self.settings.instances_path, self.settings.reserved_disk_gb),
            host_ip=self.settings.host_ip,
            cpu_info=cpu.to_json(),
            traits=(*hostinfo.STATIC_TRAITS, *cpu.traits()),
        )

    async def cleanup(self) -> None:
        for pending in self._settling.values():
            pending.cancel()
        self._settling.clear()
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sync_task
            self._sync_task = None
        await self._conn.close()

    def list_hosts(self) -> Sequence[str]:
        return [self._host]

    def get_host_capacity(self, host: str) -> HostCapacity:
        if self._capacity is None:
            raise DriverError("the libvirt driver is not initialised")
        return self._capacity

    async def get_host_uptime(self, host: str) -> str:
        return hostinfo.uptime()

    # ---- power events ---------------------------------------------------------------------

    def watch_power_states(self, handler: PowerEventHandler) -> None:
        """Call `handler` whenever a guest's power state changes, whoever changed it."""
        self._handlers.append(handler)

    def _on_event(self, uuid: str, power: PowerState) -> None:
        # Settle first: a soft reboot passes through shutdown for a moment, a managed save
        # through paused; only the state the guest stays in is news.
        pending = self._settling.pop(uuid, None)
        if pending is not None:
            pending.cancel()
        self._settling[uuid] = asyncio.get_running_loop().call_later(
            EVENT_SETTLE_SECONDS, lambda: self._spawn(self._settled_event(uuid))
        )

    def _spawn(self, coro: Coroutine[None, None, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._event_tasks.add(task)
        task.add_done_callback(self._event_tasks.discard)

    async def _settled_event(self, uuid: str) -> None:
        self._settling.pop(uuid, None)
        try:
            dom = await self._domain(uuid)
            power = await self._conn.call(power_state, dom)
        except (DriverError, libvirt.libvirtError):
            return
        self._report_power(uuid, power)

    def _report_power(self, uuid: str, power: PowerState) -> None:
        if self._last_power.get(uuid) == power:
            return
        self._last_power[uuid] = power
        for handler in self._handlers:
            handler(self.list_hosts()[0], uuid, power)

    async def _note_power(self, uuid: str) -> None:
        try:
            dom = await self._domain(uuid)
            self._last_power[uuid] = await self._conn.call(power_state, dom)
        except (DriverError, libvirt.libvirtError):
            self._last_power.pop(uuid, None)

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sync_interval)
            try:
                for info in await self.list_instances(self.list_hosts()[0]):
                    if info.uuid not in self._settling:
                        self._report_power(info.uuid, info.power_state)
            except (DriverError, libvirt.libvirtError) as exc:
                LOG.warning("power state sync failed: %s", exc)

    # ---- lookups --------------------------------------------------------------------------

    def _files(self, uuid: str) -> InstanceFiles:
        return InstanceFiles(self.settings.instances_path, uuid)

    async def _domain(self, uuid: str) -> libvirt.virDomain:
        try:
            return await self._conn.call(self._conn.conn.lookupByUUIDString, uuid)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise InstanceNotFound(f"instance {uuid} is not on this host") from exc
            raise DriverError(f"libvirt: {exc}") from exc

    def _spec(self, uuid: str) -> tuple[InstanceSpec, tuple[NetworkInterface, ...]]:
        saved = self._files(uuid).load()
        if saved is None:
            raise InstanceNotFound(f"instance {uuid} has no files on this host")
        return saved

    async def get_info(self, host: str, uuid: str) -> InstanceInfo:
        dom = await self._domain(uuid)
        power = await self._conn.call(power_state, dom)
        saved = self._files(uuid).load()
        if saved is None:
            return InstanceInfo(uuid=uuid, host=host, power_state=power)
        spec, ifaces = saved
        return InstanceInfo(
            uuid=uuid,
            host=host,
            power_state=power,
            vcpus=spec.vcpus,
            memory_mb=spec.memory_mb,
            disk_gb=spec.disk_gb,
            interfaces=ifaces,
        )

    async def list_instances(self, host: str) -> Sequence[InstanceInfo]:
        doms = await self._conn.call(self._conn.conn.listAllDomains, 0)
        out = []
        for dom in doms:
            if not dom.name().startswith("instance-"):
                continue
            with contextlib.suppress(InstanceNotFound):
                out.append(await self.get_info(host, dom.UUIDString()))
        return out

    # ---- building guests ------------------------------------------------------------------

    async def _boot_files(self, spec: InstanceSpec) -> tuple[str, str, str]:
        """Kernel, initrd and command line when the image boots a kernel directly."""
        props = spec.image_properties
        kernel_id = props.get("kernel_id", "")
        if not kernel_id:
            return "", "", ""
        kernel = await self.images.fetch(kernel_id)
        ramdisk_id = props.get("ramdisk_id", "")
        initrd = await self.images.fetch(ramdisk_id) if ramdisk_id else None
        cmdline = props.get("os_command_line", "console=ttyS0")
        cmdline = f"{cmdline} novamesh.uuid={spec.uuid}"
        return str(kernel), str(initrd or ""), cmdline

    async def _guest_config(
        self,
        spec: InstanceSpec,
        interfaces: Sequence[NetworkInterface],
        *,
        rescue_props: dict[str, str] | None = None,
    ) -> GuestConfig:
        files = self._files(spec.uuid)
        boot_spec = spec
        iotune = _iotune(spec)
        disks: list[Disk] = []
        rescue = rescue_props is not None
        if rescue_props is not None:
            boot_spec = dataclasses.replace(spec, image_properties=rescue_props)
            disks.append(Disk(str(files.rescue_disk), "vda"))
        if files.disk.exists():
            disks.append(Disk(str(files.disk), "vdb" if rescue else "vda", iotune=iotune))
        if files.ephemeral.exists() and not rescue:
            disks.append(Disk(str(files.ephemeral), "vdb", iotune=iotune))
        # A rescued guest boots without its volumes (their targets would collide).
        volumes = {} if rescue else files.volumes()
        for volume_id, target in sorted(volumes.items(), key=lambda v: v[1]):
            disks.append(Disk(str(self.volume_path(volume_id)), target, serial=volume_id[:20]))
        if files.config_drive.exists():
            disks.append(Disk(str(files.config_drive), "hdd", fmt="raw", device="cdrom", bus="ide"))
        if self._lxc:
            disks = []
        kernel, initrd, cmdline = ("", "", "") if self._lxc else await self._boot_files(boot_spec)
        return GuestConfig(
            uuid=spec.uuid,
            name=domain_name(spec.uuid),
            virt_type=self.settings.virt_type,
            vcpus=spec.vcpus,
            memory_mb=spec.memory_mb,
            kernel=kernel,
            initrd=initrd,
            cmdline=cmdline,
            disks=tuple(disks),
            interfaces=tuple(
                Interface(self.settings.network_name, i.mac_address) for i in interfaces
            ),
            console_log=str(files.console_log),
            rootfs=str(files.rootfs),
            # Nova's LXC guests run /sbin/init unless the image names its init program.
            init=spec.image_properties.get("os_command_line", "") or "/sbin/init",
            display_name=spec.name,
            flavor_name=spec.flavor_name,
            project_id=spec.project_id,
            user_id=spec.user_id,
            device_tags={i.mac_address: i.tag for i in interfaces if i.tag},
        )

    async def _define_and_start(self, cfg: GuestConfig, start: bool = True) -> None:
        conn = self._conn.conn
        dom = await self._conn.call(conn.defineXML, domain_xml(cfg))
        if start:
            await self._conn.call(dom.create)

    @notes_power
    async def spawn(self, host: str, instance: InstanceSpec) -> Sequence[NetworkInterface]:
        files = self._files(instance.uuid)
        files.dir.mkdir(parents=True, exist_ok=True)
        if self._lxc:
            await self.images.create_rootfs(instance.image_id, files.rootfs)
        elif instance.image_id:
            await self.images.create_root_disk(instance.image_id, files.disk, instance.root_gb)
        if instance.ephemeral_gb:
            await imagebackend.create_blank(files.ephemeral, instance.ephemeral_gb)
        if not self._lxc:
            await self._boot_volumes(instance)
        requested = instance.networks or (RequestedNetwork(),)
        interfaces = tuple(
            network.interface_for(self.settings.network_name, instance.uuid, n, req)
            for n, req in enumerate(requested)
        )
        if instance.config_drive:
            tags = [
                {"type": "nic", "bus": "pci", "mac": i.mac_address, "tags": [i.tag]}
                for i in interfaces
                if i.tag
            ]
            await configdrive.build(files.config_drive, instance, interfaces, tags)
        files.save(instance, interfaces)
        try:
            await self._define_and_start(await self._guest_config(instance, interfaces))
        except libvirt.libvirtError as exc:
            raise DriverError(f"libvirt could not start the guest: {exc}", retryable=True) from exc
        return interfaces

    async def destroy(self, host: str, uuid: str) -> None:
        if await self._keep_for_revert(uuid):
            return
        await self._forget_guest(uuid)
        self._last_power.pop(uuid, None)
        pending = self._settling.pop(uuid, None)
        if pending is not None:
            pending.cancel()
        await asyncio.to_thread(imagebackend.remove_tree, self._files(uuid).dir)

    async def _forget_guest(self, uuid: str) -> None:
        try:
            dom = await self._domain(uuid)
        except InstanceNotFound:
            dom = None
        if dom is not None:
            with contextlib.suppress(libvirt.libvirtError):
                if await self._conn.call(dom.isActive):
                    await self._conn.call(dom.destroy)
            flags = (
                libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
            )
            try:
                await self._conn.call(dom.undefineFlags, flags)
            except libvirt.libvirtError:
                # LXC knows neither managed saves nor snapshots: a plain undefine.
                with contextlib.suppress(libvirt.libvirtError):
                    await self._conn.call(dom.undefine)

    # ---- power ----------------------------------------------------------------------------

    async def _wait_power(self, dom: libvirt.virDomain, want: PowerState, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if await self._conn.call(power_state, dom) == want:
                return True
            await asyncio.sleep(0.2)
        return False

    async def _stop(self, dom: libvirt.virDomain, *, clean: bool = True) -> None:
        """A clean ACPI shutdown, forced after the timeout (Nova's clean shutdown)."""
        if not await self._conn.call(dom.isActive):
            return
        if clean:
            with contextlib.suppress(libvirt.libvirtError):
                await self._conn.call(dom.shutdownFlags, self._shutdown_mode)
            if await self._wait_power(dom, PowerState.SHUTDOWN, self.settings.shutdown_timeout):
                return
        with contextlib.suppress(libvirt.libvirtError):
            await self._conn.call(dom.destroy)

    @notes_power
    async def power_off(self, host: str, uuid: str) -> None:
        await self._stop(await self._domain(uuid))

    @notes_power
    async def power_on(self, host: str, uuid: str) -> None:
        dom = await self._domain(uuid)
        if await self._conn.call(dom.isActive):
            return
        await self._conn.call(dom.create)

    @notes_power
    async def reboot(self, host: str, uuid: str, *, hard: bool) -> None:
        dom = await self._domain(uuid)
        if not hard and await self._conn.call(power_state, dom) == PowerState.RUNNING:
            # Nova's soft reboot: a clean shutdown, then start again; a guest that does not
            # answer the power button within the timeout is rebooted hard.
            with contextlib.suppress(libvirt.libvirtError):
                await self._conn.call(dom.shutdownFlags, self._shutdown_mode)
            if await self._wait_power(dom, PowerState.SHUTDOWN, self.settings.shutdown_timeout):
                await self._conn.call(dom.create)
                return
            LOG.info("guest %s ignored the soft reboot; rebooting hard", uuid)
        # Hard: the domain is rebuilt from its spec, as Nova does, then started.
        spec, ifaces = self._spec(uuid)
        await self._stop(dom, clean=False)
        with contextlib.suppress(libvirt.libvirtError):
            await self._conn.call(dom.managedSaveRemove, 0)
        await self._define_and_start(await self._guest_config(spec, ifaces))

    @notes_power
    async def pause(self, host: str, uuid: str) -> None:
        dom = await self._domain(uuid)
        await self._require(dom, PowerState.RUNNING, "pause")
        await self._conn.call(dom.suspend)

    @notes_power
    async def unpause(self, host: str, uuid: str) -> None:
        dom = await self._domain(uuid)
        await self._require(dom, PowerState.PAUSED, "unpause")
        await self._conn.call(dom.resume)

    @notes_power
    async def suspend(self, host: str, uuid: str) -> None:
        dom = await self._domain(uuid)
        await self._require(dom, PowerState.RUNNING, "suspend")
        await self._conn.call(dom.managedSave, 0)

    @notes_power
    async def resume(self, host: str, uuid: str) -> None:
        dom = await self._domain(uuid)
        await self._require(dom, PowerState.SUSPENDED, "resume")
        await self._conn.call(dom.create)

    async def _require(self, dom: libvirt.virDomain, want: PowerState, what: str) -> None:
        now = await self._conn.call(power_state, dom)
        if now != want:
            raise InvalidInstanceState(f"cannot {what} a guest in power state {now.name}")

    async def trigger_crash_dump(self, host: str, uuid: str) -> None:
        dom = await self._domain(uuid)
        await self._require(dom, PowerState.RUNNING, "trigger a crash dump of")
        await self._conn.call(dom.injectNMI, 0)

    # ---- consoles -------------------------------------------------------------------------

    async def get_console_output(self, host: str, uuid: str) -> str:
        await self._domain(uuid)
        return await asyncio.to_thread(self._files(uuid).console_output)

    async def get_vnc_console(self, host: str, uuid: str) -> tuple[str, int]:
        dom = await self._domain(uuid)
        root = ET.fromstring(await self._conn.call(dom.XMLDesc, 0))
        graphics = root.find("./devices/graphics[@type='vnc']")
        port = int(graphics.get("port", "-1")) if graphics is not None else -1
        if graphics is None or port <= 0:
            raise InvalidInstanceState(f"instance {uuid} has no VNC server (is it running?)")
        return graphics.get("listen", "127.0.0.1"), port

    async def get_diagnostics(self, host: str, uuid: str) -> Diagnostics:
        dom = await self._domain(uuid)
        return await self._conn.call(
            diagnostics.collect,
            dom,
            self.settings.virt_type,
            self._files(uuid).config_drive.exists(),
        )

    # ---- snapshot -------------------------------------------------------------------------

    @notes_power
    async def snapshot(self, host: str, uuid: str, image_id: str) -> None:
        dom = await self._domain(uuid)
        files = self._files(uuid)
        if not files.disk.exists():
            raise DriverError(f"instance {uuid} has no local root disk to snapshot")
        out = files.dir / f"snapshot-{image_id}.qcow2"
        # A paused guest writes nothing, so the copy is consistent; the pause is short.
        paused = False
        if await self._conn.call(power_state, dom) == PowerState.RUNNING:
            await self._conn.call(dom.suspend)
            paused = True
        try:
            await imagebackend.flatten(files.disk, out)
        finally:
            if paused:
                await self._conn.call(dom.resume)
        try:
            url = f"{self.settings.image_upload_url}/v2/images/{image_id}/file"
            await asyncio.to_thread(imagebackend.upload, url, self.settings.image_token, out)
        except OSError as exc:
            raise DriverError(f"snapshot upload failed: {exc}") from exc
        finally:
            out.unlink(missing_ok=True)

    # ---- rescue ---------------------------------------------------------------------------

    @notes_power
    async def rescue(self, host: str, uuid: str, image_id: str, admin_pass: str) -> None:
        spec, ifaces = self._spec(uuid)
        dom = await self._domain(uuid)
        rescue_image = image_id or spec.image_id
        files = self._files(uuid)
        await self._stop(dom, clean=False)
        await self.images.create_root_disk(rescue_image, files.rescue_disk, 0)
        props = dict(spec.image_properties)
        if image_id and image_id != spec.image_id:
            props = await self._image_properties(image_id)
        cfg = await self._guest_config(spec, ifaces, rescue_props=props)
        await self._define_and_start(cfg)

    @notes_power
    async def unrescue(self, host: str, uuid: str) -> None:
        spec, ifaces = self._spec(uuid)
        dom = await self._domain(uuid)
        await self._stop(dom, clean=False)
        self._files(uuid).rescue_disk.unlink(missing_ok=True)
        await self._define_and_start(await self._guest_config(spec, ifaces))

    async def _image_properties(self, image_id: str) -> dict[str, str]:
        props = getattr(self.images.source, "properties", None)
        return dict(await props(image_id)) if props is not None else {}

    # ---- devices --------------------------------------------------------------------------


def _iotune(spec: InstanceSpec) -> dict[str, int]:
    return iotune_from_extra_specs(spec.flavor_extra_specs)
