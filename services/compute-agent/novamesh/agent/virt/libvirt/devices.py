"""Hot-plugged devices of a running or stopped guest: local volumes (attach, detach, extend,
swap) and network interfaces; and the volumes a guest is built with (boot from volume).
Mixed into the driver; changes go to both the live domain and its persistent definition, and
are remembered in the guest's files so a rebuilt domain XML keeps them."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import libvirt
from novamesh.agent.virt.libvirt import imagebackend, network
from novamesh.agent.virt.libvirt.connection import Connection
from novamesh.agent.virt.libvirt.guest import (
    Disk,
    Interface,
    disk_element,
    interface_element,
    to_xml,
)
from novamesh.agent.virt.libvirt.imagebackend import ImageCache
from novamesh.agent.virt.libvirt.instances import InstanceFiles
from novamesh.agent.virt.libvirt.settings import LibvirtSettings
from novamesh.agent.virt.model import (
    DriverError,
    InstanceSpec,
    NetworkInterface,
    RequestedNetwork,
)


class DeviceOps:
    settings: LibvirtSettings
    _conn: Connection
    images: ImageCache

    async def _domain(self, uuid: str) -> libvirt.virDomain:
        raise NotImplementedError

    def _files(self, uuid: str) -> InstanceFiles:
        raise NotImplementedError

    def _spec(self, uuid: str) -> tuple[InstanceSpec, tuple[NetworkInterface, ...]]:
        raise NotImplementedError

    async def _live_flags(self, dom: libvirt.virDomain) -> int:
        flags: int = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        if await self._conn.call(dom.isActive):
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        return flags

    def volume_path(self, volume_id: str) -> Path:
        return self.settings.instances_path / "volumes" / f"{volume_id}.qcow2"

    async def _boot_volumes(self, spec: InstanceSpec) -> None:
        """Make the boot's volumes and note them as the guest's disks at their device names
        (a root volume is vda, which the domain boots): a volume made from an image gets the
        image written into it, a blank one is empty; each of its requested size. A volume
        file that exists already (an existing volume, a rebuild or unshelve) is kept."""
        files = self._files(spec.uuid)
        files.dir.mkdir(parents=True, exist_ok=True)
        for volume in spec.volumes:
            path = self.volume_path(volume.volume_id)
            if not path.exists():
                size = max(1, volume.volume_size)
                if volume.source_type == "image" and volume.image_id:
                    await self.images.create_volume(volume.image_id, path, size)
                else:
                    await imagebackend.create_blank(path, size)
            target = volume.device_name.removeprefix("/dev/")
            if not target:
                raise DriverError(f"volume {volume.volume_id} has no device name")
            files.set_volume(volume.volume_id, target)

    async def attach_volume(
        self, host: str, uuid: str, volume_id: str, device: str, size_gb: int = 0
    ) -> None:
        """Built-in local block storage: the volume is a qcow2 file, made empty of the
        volume's size (1 GiB when the size is not known) the first time it is attached."""
        dom = await self._domain(uuid)
        path = self.volume_path(volume_id)
        if not path.exists():
            await imagebackend.create_blank(path, max(1, size_gb))
        target = device.removeprefix("/dev/") or await self._free_target(dom)
        xml = to_xml(disk_element(Disk(str(path), target, serial=volume_id[:20])))
        try:
            await self._conn.call(dom.attachDeviceFlags, xml, await self._live_flags(dom))
        except libvirt.libvirtError as exc:
            raise DriverError(f"cannot attach volume {volume_id}: {exc}") from exc
        self._files(uuid).set_volume(volume_id, target)

    async def detach_volume(self, host: str, uuid: str, volume_id: str) -> None:
        dom = await self._domain(uuid)
        el = await self._find_device(dom, "disk", self._is_volume(volume_id))
        if el is None:
            raise DriverError(f"volume {volume_id} is not attached to instance {uuid}")
        try:
            await self._conn.call(
                dom.detachDeviceFlags, ET.tostring(el, "unicode"), await self._live_flags(dom)
            )
        except libvirt.libvirtError as exc:
            raise DriverError(f"cannot detach volume {volume_id}: {exc}") from exc
        self._files(uuid).set_volume(volume_id, None)

    async def extend_volume(self, host: str, uuid: str, volume_id: str, size_gb: int) -> None:
        """Grow an attached local volume; a running guest sees the new size at once."""
        dom = await self._domain(uuid)
        target = self._files(uuid).volumes().get(volume_id)
        if target is None:
            raise DriverError(f"volume {volume_id} is not attached to instance {uuid}")
        try:
            if await self._conn.call(dom.isActive):
                await self._conn.call(
                    dom.blockResize,
                    target,
                    size_gb * imagebackend.GIB,
                    libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES,
                )
            else:
                await imagebackend.resize(self.volume_path(volume_id), size_gb)
        except libvirt.libvirtError as exc:
            raise DriverError(f"cannot extend volume {volume_id}: {exc}") from exc

    async def swap_volume(
        self, host: str, uuid: str, old_volume_id: str, new_volume_id: str
    ) -> None:
        """Copy an attached volume's data onto another and switch the guest to it (live: a
        block copy job, pivoted once in sync), as Nova's swap_volume."""
        dom = await self._domain(uuid)
        files = self._files(uuid)
        target = files.volumes().get(old_volume_id)
        if target is None:
            raise DriverError(f"volume {old_volume_id} is not attached to instance {uuid}")
        old_path, new_path = self.volume_path(old_volume_id), self.volume_path(new_volume_id)
        if not new_path.exists():
            size = (await imagebackend.disk_info(old_path)).virtual_size
            await imagebackend.create_blank(new_path, max(1, -(-size // imagebackend.GIB)))
        new_disk = Disk(str(new_path), target, serial=new_volume_id[:20])
        old_el = await self._find_device(dom, "disk", self._is_volume(old_volume_id))
        try:
            if await self._conn.call(dom.isActive):
                dest = f"<disk type='file'><source file='{new_path}'/><driver type='qcow2'/></disk>"
                flags = (
                    libvirt.VIR_DOMAIN_BLOCK_COPY_REUSE_EXT
                    | libvirt.VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB
                )
                await self._conn.call(dom.blockCopy, target, dest, None, flags)
                await self._wait_block_job(dom, target)
                await self._conn.call(
                    dom.blockJobAbort, target, libvirt.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT
                )
            # The persistent definition follows: the old disk out, the new one in.
            if old_el is not None:
                config = libvirt.VIR_DOMAIN_AFFECT_CONFIG
                await self._conn.call(dom.detachDeviceFlags, ET.tostring(old_el, "unicode"), config)
                await self._conn.call(dom.attachDeviceFlags, to_xml(disk_element(new_disk)), config)
        except libvirt.libvirtError as exc:
            raise DriverError(
                f"cannot swap volume {old_volume_id} for {new_volume_id}: {exc}"
            ) from exc
        files.set_volume(old_volume_id, None)
        files.set_volume(new_volume_id, target)

    async def _wait_block_job(self, dom: libvirt.virDomain, target: str) -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            info = await self._conn.call(dom.blockJobInfo, target, 0)
            if info and info.get("end", 0) and info.get("cur") == info.get("end"):
                return
            await asyncio.sleep(0.1)
        raise DriverError(f"the block copy of {target} did not finish")

    async def attach_interface(
        self, host: str, uuid: str, port_id: str, network_id: str
    ) -> NetworkInterface:
        dom = await self._domain(uuid)
        spec, ifaces = self._spec(uuid)
        iface = network.interface_for(
            self.settings.network_name,
            uuid,
            len(ifaces),
            RequestedNetwork(network_id=network_id, port_id=port_id),
        )
        xml = to_xml(interface_element(Interface(self.settings.network_name, iface.mac_address)))
        try:
            await self._conn.call(dom.attachDeviceFlags, xml, await self._live_flags(dom))
        except libvirt.libvirtError as exc:
            raise DriverError(f"cannot attach port {port_id}: {exc}") from exc
        self._files(uuid).save(spec, (*ifaces, iface))
        return iface

    async def detach_interface(self, host: str, uuid: str, port_id: str) -> None:
        dom = await self._domain(uuid)
        spec, ifaces = self._spec(uuid)
        mac = network.mac_for(port_id)
        el = await self._find_device(
            dom, "interface", lambda d: d.find(f"mac[@address='{mac}']") is not None
        )
        if el is None:
            raise DriverError(f"port {port_id} is not attached to instance {uuid}")
        try:
            await self._conn.call(
                dom.detachDeviceFlags, ET.tostring(el, "unicode"), await self._live_flags(dom)
            )
        except libvirt.libvirtError as exc:
            raise DriverError(f"cannot detach port {port_id}: {exc}") from exc
        self._files(uuid).save(spec, tuple(i for i in ifaces if i.port_id != port_id))

    def _is_volume(self, volume_id: str) -> Callable[[ET.Element], bool]:
        # By file, not serial: after a live swap the guest keeps the old volume's serial.
        path = str(self.volume_path(volume_id))

        def match(disk: ET.Element) -> bool:
            source = disk.find("source")
            return source is not None and source.get("file") == path

        return match

    async def _find_device(
        self, dom: libvirt.virDomain, tag: str, match: Callable[[ET.Element], bool]
    ) -> ET.Element | None:
        root = ET.fromstring(await self._conn.call(dom.XMLDesc, 0))
        for el in root.findall(f"./devices/{tag}"):
            if match(el):
                return el
        return None

    async def _free_target(self, dom: libvirt.virDomain) -> str:
        root = ET.fromstring(await self._conn.call(dom.XMLDesc, 0))
        used = {t.get("dev") for t in root.findall("./devices/disk/target")}
        for letter in "bcdefghijklmnopqrstuvwxyz":
            if f"vd{letter}" not in used:
                return f"vd{letter}"
        raise DriverError("no free disk target left")
