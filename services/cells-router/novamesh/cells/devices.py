"""A server's devices through its host: diagnostics, console endpoints, interface and volume
attachments.

Each asks the instance's host over its agent channel. Attachments change the cell's records
only after the host did the work: an attached interface joins the instance's info cache, an
attached volume becomes a block_device_mapping row (source and destination `volume`), so a
failed attach leaves nothing behind. Attach and detach run under the instance's router lock,
so two of them never race for one device name.
"""

from __future__ import annotations

import string
import uuid as uuidlib
from typing import Any

from novamesh.agent.v1 import agent_pb2
from novamesh.agent.v1 import guest_devices_pb2 as gd
from novamesh.cells import convert
from novamesh.cells.agents import Outcome
from novamesh.cells.core import Conflict, Core, NotFound
from novamesh.cells.db import instances as inst_db
from novamesh.cells.db import models
from novamesh.cells.db.queries import BadQuery
from novamesh.cells.registry import Cell
from novamesh.cells.v1 import router_pb2
from novamesh.cells.v1 import server_devices_pb2 as sd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

BDM = models.BlockDeviceMapping
_ROOT_DEVICE = "/dev/vda"


class DriverLacks(NotImplementedError):
    pass


def _int(data: dict[str, str], key: str) -> int | None:
    value = data.get(key)
    return int(value) if value not in (None, "") else None


def diagnostics_message(data: dict[str, str]) -> sd.ServerDiagnostics:
    """The agent's flat keys (agent.v1 GetDiagnostics) as the typed message."""
    out = sd.ServerDiagnostics(
        state=data.get("state", ""),
        driver=data.get("driver", ""),
        config_drive=data.get("config_drive") == "true",
        num_cpus=_int(data, "num_cpus") or 0,
        num_nics=_int(data, "num_nics") or 0,
        num_disks=_int(data, "num_disks") or 0,
    )
    for key in ("hypervisor", "hypervisor_os"):
        if key in data:
            setattr(out, key, data[key])
    for key in ("uptime", "memory_maximum", "memory_used"):
        value = _int(data, key)
        if value is not None:
            setattr(out, key, value)
    for i in range(out.num_cpus):
        cpu = out.cpu_details.add(id=_int(data, f"cpu.{i}.id") or i)
        _fill(cpu, data, f"cpu.{i}.", ("time", "utilisation"))
    for i in range(out.num_nics):
        nic = out.nic_details.add(mac_address=data.get(f"nic.{i}.mac_address", ""))
        names = [f.name for f in sd.NicDiagnostics.DESCRIPTOR.fields if f.name != "mac_address"]
        _fill(nic, data, f"nic.{i}.", names)
    for i in range(out.num_disks):
        disk = out.disk_details.add()
        _fill(disk, data, f"disk.{i}.", [f.name for f in sd.DiskDiagnostics.DESCRIPTOR.fields])
    return out


def _fill(msg: Any, data: dict[str, str], prefix: str, names: Any) -> None:
    for name in names:
        value = _int(data, prefix + name)
        if value is not None:
            setattr(msg, name, value)


def next_device(used: set[str]) -> str:
    """The first free /dev/vdX after the root disk, as libvirt names virtio disks."""
    for letter in string.ascii_lowercase[1:]:
        name = f"/dev/vd{letter}"
        if name not in used:
            return name
    raise Conflict("The instance has no free device name left.")


def attachment_message(row: models.BlockDeviceMapping) -> sd.VolumeAttachment:
    return sd.VolumeAttachment(
        bdm_uuid=row.uuid,
        server_id=row.instance_uuid,
        volume_id=row.volume_id or "",
        device=row.device_name or "",
        tag=row.tag or "",
        delete_on_termination=bool(row.delete_on_termination),
        attachment_id=row.attachment_id or "",
    )


class Devices:
    def __init__(self, core: Core, timeout: float = 60.0) -> None:
        self._core = core
        self._timeout = timeout

    async def _placed(self, uuid: str) -> tuple[Cell, router_pb2.Instance]:
        _, cell = await self._core.locate(uuid)
        found = await self._core.load(cell, uuid) if cell is not None else None
        if cell is None or found is None or found.deleted:
            if cell is None:
                raise Conflict(f"Instance {uuid} is not ready")
            raise NotFound(f"Instance {uuid} could not be found.")
        if not (found.host and self._core.hub.connected(found.host)):
            raise Conflict(f"Instance {uuid} is not ready")
        return cell, found

    async def _ask(self, host: str, what: str, **body: Any) -> Outcome:
        outcome = await self._core.hub.call(host, agent_pb2.AgentCommand(**body), self._timeout)
        if not outcome.ok:
            if "does not support" in outcome.error:
                raise DriverLacks(f"Unable to {what}, functionality not implemented")
            raise Conflict(f"Unable to {what}: {outcome.error}")
        return outcome

    async def diagnostics(self, uuid: str) -> sd.ServerDiagnostics:
        _, inst = await self._placed(uuid)
        req = gd.GetDiagnostics(instance_uuid=uuid)
        outcome = await self._ask(inst.host, "get diagnostics", get_diagnostics=req)
        found = diagnostics_message(outcome.data)
        # The instance record knows about its config drive even when the driver does not say.
        found.config_drive = found.config_drive or inst.config_drive
        return found

    async def console(self, uuid: str, protocol: str) -> sd.ConsoleEndpoint:
        _, inst = await self._placed(uuid)
        req = gd.GetConsole(instance_uuid=uuid, protocol=protocol)
        outcome = await self._ask(inst.host, f"get {protocol} console", get_console=req)
        data = outcome.data
        out = sd.ConsoleEndpoint(
            instance_uuid=uuid, host=data.get("host", ""), port=_int(data, "port") or 0
        )
        tls = _int(data, "tls_port")
        if tls is not None:
            out.tls_port = tls
        if "internal_access_path" in data:
            out.internal_access_path = data["internal_access_path"]
        return out

    # ---- interfaces -----------------------------------------------------------------------

    async def attach_interface(self, req: sd.AttachInterfaceRequest) -> agent_pb2.NetworkInterface:
        port_id = req.port_id or str(uuidlib.uuid4())
        async with self._core.lock(req.uuid):
            cell, inst = await self._placed(req.uuid)
            if any(v.port_id == port_id for v in inst.interfaces):
                raise Conflict(f"Port {port_id} is still in use.")
            command = gd.AttachInterface(
                instance_uuid=req.uuid,
                port_id=port_id,
                network_id=req.network_id,
                fixed_ip=req.fixed_ip,
                tag=req.tag,
            )
            outcome = await self._ask(inst.host, "attach the interface", attach_interface=command)
            d = outcome.data
            vif = agent_pb2.NetworkInterface(
                network=d.get("network", req.network_id),
                address=d.get("address", ""),
                version=_int(d, "version") or 4,
                mac_address=d.get("mac_address", ""),
                port_id=d.get("port_id", port_id),
                tag=req.tag,
            )
            await self._set_interfaces(cell, req.uuid, [*inst.interfaces, vif])
        await self._core.publish(cell, req.uuid)
        return vif

    async def detach_interface(self, req: sd.DetachInterfaceRequest) -> None:
        async with self._core.lock(req.uuid):
            cell, inst = await self._placed(req.uuid)
            if not any(v.port_id == req.port_id for v in inst.interfaces):
                raise NotFound(f"Port {req.port_id} is not attached to instance {req.uuid}")
            command = gd.DetachInterface(instance_uuid=req.uuid, port_id=req.port_id)
            await self._ask(inst.host, "detach the interface", detach_interface=command)
            left = [v for v in inst.interfaces if v.port_id != req.port_id]
            await self._set_interfaces(cell, req.uuid, left)
        await self._core.publish(cell, req.uuid)

    async def _set_interfaces(
        self, cell: Cell, uuid: str, vifs: list[agent_pb2.NetworkInterface]
    ) -> None:
        info = [convert.message_dict(v) for v in vifs]

        async def work(session: AsyncSession) -> None:
            await inst_db.set_network_info(session, uuid, info)

        await self._core.in_cell(cell, work)

    # ---- volumes --------------------------------------------------------------------------

    async def _volumes(self, cell: Cell, uuid: str) -> list[models.BlockDeviceMapping]:
        async def work(session: AsyncSession) -> list[models.BlockDeviceMapping]:
            rows = await session.scalars(
                select(BDM)
                .where(
                    BDM.instance_uuid == uuid,
                    BDM.deleted.is_(False),
                )
                .order_by(BDM.id)
            )
            return list(rows)

        result: list[models.BlockDeviceMapping] = await self._core.in_cell(cell, work)
        return result

    async def list_volumes(self, uuid: str) -> list[sd.VolumeAttachment]:
        _, cell = await self._core.locate(uuid)
        if cell is None:
            return []
        rows = await self._volumes(cell, uuid)
        return [attachment_message(r) for r in rows if r.destination_type == "volume"]

    async def attach_volume(self, req: sd.AttachVolumeRequest) -> sd.VolumeAttachment:
        async with self._core.lock(req.uuid):
            cell, inst = await self._placed(req.uuid)
            rows = await self._volumes(cell, req.uuid)
            if any(r.volume_id == req.volume_id for r in rows):
                raise Conflict(
                    f"Invalid volume: volume {req.volume_id} is already attached to "
                    f"instance {req.uuid}"
                )
            used = {r.device_name for r in rows if r.device_name} | {_ROOT_DEVICE}
            device = req.device or next_device(used)
            if device in used:
                raise Conflict(f"The supplied device path ({device}) is in use.")
            command = gd.AttachVolume(
                instance_uuid=req.uuid,
                volume_id=req.volume_id,
                device=device,
                tag=req.tag,
                size_gb=req.size_gb,
            )
            await self._ask(inst.host, "attach the volume", attach_volume=command)
            row = BDM(
                uuid=str(uuidlib.uuid4()),
                instance_uuid=req.uuid,
                source_type="volume",
                destination_type="volume",
                device_name=device,
                volume_id=req.volume_id,
                attachment_id=str(uuidlib.uuid4()),
                delete_on_termination=req.delete_on_termination,
                tag=req.tag or None,
            )
            message = attachment_message(row)

            async def work(session: AsyncSession) -> None:
                session.add(row)

            await self._core.in_cell(cell, work)
        await self._core.publish(cell, req.uuid)
        return message

    async def _attached(self, cell: Cell, uuid: str, volume_id: str) -> models.BlockDeviceMapping:
        for row in await self._volumes(cell, uuid):
            if row.volume_id == volume_id and row.destination_type == "volume":
                return row
        raise NotFound(f"Volume {volume_id} is not attached to instance {uuid}")

    async def update_volume(self, req: sd.UpdateVolumeAttachmentRequest) -> sd.VolumeAttachment:
        async with self._core.lock(req.uuid):
            _, cell = await self._core.locate(req.uuid)
            if cell is None:
                raise Conflict(f"Instance {req.uuid} is not ready")
            row = await self._attached(cell, req.uuid, req.volume_id)
            values: dict[str, object] = {}
            if req.new_volume_id and req.new_volume_id != req.volume_id:
                _, inst = await self._placed(req.uuid)
                command = gd.SwapVolume(
                    instance_uuid=req.uuid,
                    old_volume_id=req.volume_id,
                    new_volume_id=req.new_volume_id,
                )
                await self._ask(inst.host, "swap the volume", swap_volume=command)
                values.update(volume_id=req.new_volume_id, attachment_id=str(uuidlib.uuid4()))
            if req.HasField("delete_on_termination"):
                values["delete_on_termination"] = req.delete_on_termination
            if values:
                await self._update_row(cell, row.id, values)
                for key, value in values.items():
                    setattr(row, key, value)
        await self._core.publish(cell, req.uuid)
        return attachment_message(row)

    async def detach_volume(self, req: sd.DetachVolumeRequest) -> None:
        async with self._core.lock(req.uuid):
            cell, inst = await self._placed(req.uuid)
            row = await self._attached(cell, req.uuid, req.volume_id)
            if row.boot_index == 0:
                # Nova answers this one with a 400, not a state conflict.
                raise BadQuery("Cannot detach a root device volume")
            command = gd.DetachVolume(instance_uuid=req.uuid, volume_id=req.volume_id)
            await self._ask(inst.host, "detach the volume", detach_volume=command)

            async def work(session: AsyncSession) -> None:
                gone = await session.get(BDM, row.id)
                if gone is not None:
                    await session.delete(gone)

            await self._core.in_cell(cell, work)
        await self._core.publish(cell, req.uuid)

    async def _update_row(self, cell: Cell, row_id: int, values: dict[str, object]) -> None:
        async def work(session: AsyncSession) -> None:
            found = await session.get(BDM, row_id)
            if found is not None:
                for key, value in values.items():
                    setattr(found, key, value)

        await self._core.in_cell(cell, work)
