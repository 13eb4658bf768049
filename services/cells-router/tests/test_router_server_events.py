"""External events acted on by the router (power-update, volume-extended, network-vif-deleted)
and evacuated guests removed when their old host's agent registers again."""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from novamesh.cells.db import models
from novamesh.cells.devices import Devices
from novamesh.cells.server_events import ExternalEvent, ServerEvents, power_update_applies
from novamesh.cells.testing import FakeAgent, Mesh, start_mesh
from novamesh.cells.v1 import server_devices_pb2 as sd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path)
    try:
        yield m
    finally:
        await m.close()


async def active(mesh: Mesh) -> tuple[FakeAgent, str]:
    agent = await mesh.agent(["h1"])
    mesh.scheduler.hosts = [("h1", mesh.cells["cell1"])]
    (inst,) = await mesh.boot()
    await mesh.wait_for(inst.uuid, "active")
    return agent, inst.uuid


async def in_cell(mesh: Mesh, work: Any) -> Any:
    return await mesh.app.core.in_cell(mesh.app.core.registry.local, work)


async def actions(mesh: Mesh, uuid: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    async def work(session: AsyncSession) -> list[tuple[str, list[tuple[str, str | None]]]]:
        found = []
        rows = await session.scalars(
            select(models.InstanceAction)
            .where(models.InstanceAction.instance_uuid == uuid)
            .order_by(models.InstanceAction.id)
        )
        for action in rows.all():
            events = await session.scalars(
                select(models.InstanceActionEvent).where(
                    models.InstanceActionEvent.action_id == action.id
                )
            )
            found.append((action.action, [(e.event, e.result) for e in events.all()]))
        return found

    result: list[tuple[str, list[tuple[str, str | None]]]] = await in_cell(mesh, work)
    return result


def bodies(agent: FakeAgent) -> list[str]:
    return [str(c.WhichOneof("body")) for c in agent.commands]


async def eventually(check: Any, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.02)


def test_power_update_applies_only_from_the_state_it_is_about() -> None:
    assert power_update_applies("active", None, 1, "POWER_OFF")
    assert power_update_applies("stopped", None, 4, "POWER_ON")
    assert not power_update_applies("active", None, 1, "POWER_ON")
    assert not power_update_applies("active", "rebooting", 1, "POWER_OFF")
    assert not power_update_applies("stopped", None, 1, "POWER_ON")


async def test_power_update_starts_a_stop_action_and_asks_the_host(mesh: Mesh) -> None:
    agent, uuid = await active(mesh)
    events = ServerEvents(mesh.app.core, Devices(mesh.app.core), timeout=5)
    await events.deliver([ExternalEvent(uuid, "power-update", tag="POWER_OFF")], "req-1")
    await mesh.app.core.idle()
    (cmd,) = [c for c in agent.commands if c.WhichOneof("body") == "power_update"]
    assert (cmd.power_update.instance_uuid, cmd.power_update.power_on) == (uuid, False)
    assert (await actions(mesh, uuid))[-1][0] == "stop"


async def test_a_power_update_that_does_not_apply_is_a_recorded_no_op(mesh: Mesh) -> None:
    agent, uuid = await active(mesh)
    events = ServerEvents(mesh.app.core, Devices(mesh.app.core), timeout=5)
    await events.deliver([ExternalEvent(uuid, "power-update", tag="POWER_ON")], "req-2")
    await mesh.app.core.idle()
    assert "power_update" not in bodies(agent)
    assert (await actions(mesh, uuid))[-1] == ("start", [("compute_power_update", "Success")])


async def test_volume_extended_sizes_the_mapping_and_grows_the_disk(mesh: Mesh) -> None:
    agent, uuid = await active(mesh)
    devices = Devices(mesh.app.core, timeout=5)
    await devices.attach_volume(sd.AttachVolumeRequest(uuid=uuid, volume_id="vol-1"))
    events = ServerEvents(mesh.app.core, devices, timeout=5)
    await events.deliver(
        [
            ExternalEvent(uuid, "volume-extended", tag="vol-1", volume_size_gb=5),
            ExternalEvent(uuid, "volume-extended", tag="vol-not-here", volume_size_gb=5),
        ],
        "req-3",
    )
    await mesh.app.core.idle()
    (cmd,) = [c for c in agent.commands if c.WhichOneof("body") == "extend_volume"]
    assert (cmd.extend_volume.volume_id, cmd.extend_volume.size_gb) == ("vol-1", 5)

    async def size(session: AsyncSession) -> int | None:
        return await session.scalar(
            select(models.BlockDeviceMapping.volume_size).where(
                models.BlockDeviceMapping.volume_id == "vol-1"
            )
        )

    assert await in_cell(mesh, size) == 5
    recorded = [a for a in await actions(mesh, uuid) if a[0] == "extend_volume"]
    assert recorded == [
        ("extend_volume", [("compute_extend_volume", "Success")]),
        ("extend_volume", [("compute_extend_volume", "Success")]),
    ]


async def test_network_vif_deleted_detaches_the_port(mesh: Mesh) -> None:
    agent, uuid = await active(mesh)
    devices = Devices(mesh.app.core, timeout=5)
    port = await devices.attach_interface(
        sd.AttachInterfaceRequest(uuid=uuid, port_id="port-9", network_id="net")
    )
    assert port.port_id == "port-9"
    events = ServerEvents(mesh.app.core, devices, timeout=5)
    await events.deliver(
        [
            ExternalEvent(uuid, "network-vif-deleted", tag="port-9"),
            ExternalEvent(uuid, "network-vif-deleted", tag="port-unknown"),
            ExternalEvent(uuid, "network-changed", tag="port-9"),
            ExternalEvent(uuid, "network-vif-plugged", tag="port-9"),
        ],
        "req-4",
    )
    await mesh.app.core.idle()
    assert bodies(agent).count("detach_interface") == 1
    inst = await mesh.app.core.load(mesh.app.core.registry.local, uuid)
    assert inst is not None and all(v.port_id != "port-9" for v in inst.interfaces)


async def test_an_agent_registering_again_removes_guests_evacuated_away(mesh: Mesh) -> None:
    evacuated = str(uuidlib.uuid4())
    statuses = {"done": str(uuidlib.uuid4()), "failed": str(uuidlib.uuid4())}

    async def record(session: AsyncSession) -> None:
        for status, mig in statuses.items():
            session.add(
                models.Migration(
                    uuid=mig,
                    instance_uuid=evacuated,
                    source_compute="h1",
                    dest_compute="h2",
                    migration_type="evacuation",
                    status=status,
                )
            )

    await in_cell(mesh, record)
    agent = await mesh.agent(["h1"])

    async def destroyed() -> bool:
        return "destroy_evacuated" in bodies(agent)

    await eventually(destroyed)
    (cmd,) = [c for c in agent.commands if c.WhichOneof("body") == "destroy_evacuated"]
    sent = cmd.destroy_evacuated
    assert (sent.instance_uuid, sent.migration_uuid) == (evacuated, statuses["done"])

    async def status_of(session: AsyncSession) -> dict[str, str | None]:
        rows = await session.execute(select(models.Migration.uuid, models.Migration.status))
        return {u: s for u, s in rows.all()}

    async def completed() -> bool:
        found: dict[str, str | None] = await in_cell(mesh, status_of)
        return found[statuses["done"]] == "completed"

    await eventually(completed)
    assert (await in_cell(mesh, status_of))[statuses["failed"]] == "failed"
