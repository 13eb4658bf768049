"""Two libvirt hosts on one machine: the session's daemon and a second private one (each in
its own mount and network namespace), one driver each, instances paths that see each other.

One guest moves between them: a cold migration with a resize to the other host (revert, then
again and confirm), then a live migration back while it runs. The guest proves each step itself:
its heartbeats come from the other host's console log with the new vCPU count, and after the
live migration its uptime goes on (no reboot).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid as uuidlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import libvirt
import pytest
from novamesh.agent.virt.libvirt.driver import LibvirtDriver
from novamesh.agent.virt.libvirt.settings import LibvirtSettings
from novamesh.agent.virt.migration_job import MigrationCancelled, NoActiveMigration
from novamesh.agent.virt.model import InstanceSpec

from tests.libvirt.conftest import ROOT, FileImages
from tests.libvirt.guestwatch import SerialLog
from tests.support import libvirtd

HOST_A = "lv-host-a"
HOST_B = "lv-host-b"

SPEC = InstanceSpec(
    uuid=str(uuidlib.uuid4()),
    name="mover",
    vcpus=1,
    memory_mb=128,
    root_gb=1,
    image_id="disk",
    image_properties={"kernel_id": "kernel", "ramdisk_id": "ramdisk"},
)


@pytest.fixture(scope="module")
def daemon_b(
    tmp_path_factory: pytest.TempPathFactory, guest_image: Path
) -> Iterator[libvirtd.Libvirtd]:
    d = libvirtd.Libvirtd(
        tmp_path_factory.mktemp("libvirtd-b"),
        ROOT / ".novamesh" / "libvirt-cache",
        qemu_conf=libvirtd.NO_CGROUPS,
    )
    d.start()
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
async def drivers(
    daemon: libvirtd.Libvirtd,
    daemon_b: libvirtd.Libvirtd,
    guest_image: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[str, LibvirtDriver]]:
    images = FileImages(
        {
            "disk": guest_image / "disk.qcow2",
            "kernel": guest_image / "vmlinuz",
            "ramdisk": guest_image / "initrd.gz",
        },
        {"disk": {"kernel_id": "kernel", "ramdisk_id": "ramdisk"}},
    )
    paths = {h: tmp_path_factory.mktemp(h) for h in (HOST_A, HOST_B)}
    uris = {HOST_A: daemon, HOST_B: daemon_b}
    out: dict[str, LibvirtDriver] = {}
    for host, peer in ((HOST_A, HOST_B), (HOST_B, HOST_A)):
        out[host] = LibvirtDriver(
            LibvirtSettings(
                uri=uris[host].uri(),
                virt_type="qemu",
                instances_path=paths[host],
                image_target="",
                host=host,
                network_bridge=f"nm{uuidlib.uuid4().hex[:8]}",
                sync_interval=600.0,
                shutdown_timeout=5.0,
                peer_instances_paths={peer: str(paths[peer])},
                peer_uris={peer: f"qemu+unix:///system?socket={uris[peer].socket}"},
            ),
            images,
        )
        await out[host].init_host()
    try:
        yield out
    finally:
        for drv in out.values():
            await drv.destroy(drv.list_hosts()[0], SPEC.uuid)
            await drv.cleanup()


def serial(drv: LibvirtDriver) -> SerialLog:
    return SerialLog(drv.settings.instances_path / SPEC.uuid / "console.log")


def defined(drv: LibvirtDriver) -> bool:
    conn = libvirt.open(drv.settings.uri)
    try:
        conn.lookupByUUIDString(SPEC.uuid)
        return True
    except libvirt.libvirtError:
        return False
    finally:
        conn.close()


async def test_resize_to_another_host_revert_and_confirm(
    drivers: dict[str, LibvirtDriver],
) -> None:
    a, b = drivers[HOST_A], drivers[HOST_B]
    await a.spawn(HOST_A, SPEC)
    await serial(a).wait_heartbeat(lambda beat: "vda:" in beat["disks"], within=90, what="boot")
    bigger = InstanceSpec(**{**SPEC.__dict__, "vcpus": 2, "memory_mb": 192, "root_gb": 2})

    started = time.monotonic()
    await a.migrate_disk_and_power_off(HOST_A, SPEC.uuid, HOST_B)
    await b.finish_migration(HOST_B, bigger)
    beat = await serial(b).wait_heartbeat(lambda x: x["cpus"] == "2", within=90, what="on B")
    print(f"cold migration A->B with resize: {time.monotonic() - started:.1f} s to a beat")
    assert "vda:4194304," in beat["disks"]
    assert defined(a) and (await a.get_info(HOST_A, SPEC.uuid)).power_state.name == "SHUTDOWN"

    # Revert as the agent does: B's guest goes, A's comes back with its old flavor.
    await b.destroy(HOST_B, SPEC.uuid)
    await a.finish_revert_migration(HOST_A, SPEC)
    await serial(a).wait_heartbeat(lambda x: x["cpus"] == "1", within=90, what="back on A")
    assert not defined(b) and not (b.settings.instances_path / SPEC.uuid).exists()

    await a.migrate_disk_and_power_off(HOST_A, SPEC.uuid, HOST_B)
    await b.finish_migration(HOST_B, bigger)
    await serial(b).wait_heartbeat(lambda x: x["cpus"] == "2", within=90, what="on B again")
    await a.confirm_migration(HOST_A, SPEC.uuid)
    assert not defined(a) and not (a.settings.instances_path / SPEC.uuid).exists()


async def test_live_migration_keeps_the_guest_running(drivers: dict[str, LibvirtDriver]) -> None:
    a, b = drivers[HOST_A], drivers[HOST_B]
    before = await serial(b).wait_heartbeat(lambda x: True, within=30, what="running on B")
    started = time.monotonic()
    await b.live_migration(HOST_B, SPEC.uuid, HOST_A)
    took = time.monotonic() - started
    print(f"live migration B->A: {took:.1f} s")
    assert not defined(b) and not (b.settings.instances_path / SPEC.uuid).exists()
    info = await a.get_info(HOST_A, SPEC.uuid)
    assert info.power_state.name == "RUNNING" and info.vcpus == 2
    beat = await serial(a).wait_heartbeat(lambda x: True, within=30, what="running on A")
    # The same guest, not a new boot: its uptime went on.
    assert float(beat["uptime"]) > float(before["uptime"])
    assert serial(a).boots() == 0


async def _caught_running(
    drv: LibvirtDriver, host: str, dest: str, mib_s: int
) -> asyncio.Task[None]:
    """Start a throttled live migration; return it once libvirt reports progress. The cap
    holds the disk mirror too, which copies the whole 2 GiB root disk (its zeros count), so
    at 32 MiB/s or less the job runs for a minute at least: it is surely caught running."""
    drv.settings = dataclasses.replace(drv.settings, live_migration_bandwidth=mib_s)
    job = asyncio.create_task(drv.live_migration(host, SPEC.uuid, dest))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        progress = await drv.live_migration_progress(host, SPEC.uuid)
        if progress is not None and (progress.memory_processed or progress.disk_processed):
            assert progress.memory_total or progress.disk_total
            return job
        assert not job.done(), "the throttled migration ended before it was caught running"
        await asyncio.sleep(0.2)
    job.cancel()
    raise AssertionError("the migration reported no progress within 60 s")


async def test_live_migration_abort_keeps_the_guest_running_on_its_source(
    drivers: dict[str, LibvirtDriver],
) -> None:
    a, b = drivers[HOST_A], drivers[HOST_B]
    before = await serial(a).wait_heartbeat(lambda x: True, within=30, what="running on A")
    job = await _caught_running(a, HOST_A, HOST_B, 1)
    await a.live_migration_abort(HOST_A, SPEC.uuid)
    with pytest.raises(MigrationCancelled):
        await asyncio.wait_for(job, 120)
    assert await a.live_migration_progress(HOST_A, SPEC.uuid) is None
    assert not defined(b) and not (b.settings.instances_path / SPEC.uuid).exists()
    assert (await a.get_info(HOST_A, SPEC.uuid)).power_state.name == "RUNNING"
    beat = await serial(a).wait_heartbeat(lambda x: True, within=30, what="still on A")
    assert float(beat["uptime"]) > float(before["uptime"])
    assert serial(a).boots() == 0
    with pytest.raises(NoActiveMigration):
        await a.live_migration_abort(HOST_A, SPEC.uuid)


async def test_live_migration_force_complete_pauses_then_runs_on_the_destination(
    drivers: dict[str, LibvirtDriver],
) -> None:
    a, b = drivers[HOST_A], drivers[HOST_B]
    before = await serial(a).wait_heartbeat(lambda x: True, within=30, what="running on A")
    job = await _caught_running(a, HOST_A, HOST_B, 32)
    # Not permitted to switch to post-copy: the guest is paused so that its memory converges
    # (the memory copy's cap is lifted too; the disk mirror keeps its pace), then resumed
    # where it arrived.
    await a.live_migration_force_complete(HOST_A, SPEC.uuid)
    assert (await a.get_info(HOST_A, SPEC.uuid)).power_state.name == "PAUSED"
    await asyncio.wait_for(job, 300)
    assert not defined(a) and not (a.settings.instances_path / SPEC.uuid).exists()
    assert (await b.get_info(HOST_B, SPEC.uuid)).power_state.name == "RUNNING"
    beat = await serial(b).wait_heartbeat(lambda x: True, within=30, what="running on B")
    assert float(beat["uptime"]) > float(before["uptime"])
    assert serial(b).boots() == 0
