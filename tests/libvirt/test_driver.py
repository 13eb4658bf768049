"""The libvirt driver against a real libvirtd with a real QEMU (TCG) guest.

One guest serves the tests of this module in order (boot, power, consoles, devices, snapshot,
resize, rescue, terminate); each test checks that the guest itself saw the change (serial
console markers and heartbeats: uptime, disks with their sizes, NICs, CPUs, memory) or that
libvirt's domain changed.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import subprocess
import threading
import uuid as uuidlib
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import libvirt
import pytest
from novamesh.agent.states import PowerState
from novamesh.agent.virt.driver import check_declarations
from novamesh.agent.virt.libvirt.driver import LibvirtDriver
from novamesh.agent.virt.libvirt.settings import EVENT_SETTLE_SECONDS, LibvirtSettings
from novamesh.agent.virt.model import InstanceNotFound, InstanceSpec, RequestedNetwork

from tests.libvirt.conftest import FileImages
from tests.libvirt.guestwatch import SerialLog, domain_devices, wait_until
from tests.support import libvirtd
from tests.support.ports import free_port

HOST = "lv-test-host"
SECTORS_PER_GIB = 2 * 1024 * 1024


class _Uploads(http.server.BaseHTTPRequestHandler):
    received: dict[str, int] = {}

    def do_PUT(self) -> None:
        size = int(self.headers["Content-Length"])
        data = self.rfile.read(size)
        self.received[self.path] = len(data)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upload_server() -> Iterator[str]:
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Uploads)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def images(guest_image: Path) -> FileImages:
    return FileImages(
        {
            "disk": guest_image / "disk.qcow2",
            "kernel": guest_image / "vmlinuz",
            "ramdisk": guest_image / "initrd.gz",
        },
        {"disk": {"kernel_id": "kernel", "ramdisk_id": "ramdisk"}},
    )


@pytest.fixture(scope="module")
async def driver(
    daemon: libvirtd.Libvirtd,
    images: FileImages,
    upload_server: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[LibvirtDriver]:
    drv = LibvirtDriver(
        LibvirtSettings(
            uri=daemon.uri(),
            virt_type="qemu",
            instances_path=tmp_path_factory.mktemp("instances"),
            image_target="",
            image_upload_url=upload_server,
            host=HOST,
            network_bridge=f"nm{uuidlib.uuid4().hex[:8]}",
            sync_interval=600.0,
            shutdown_timeout=10.0,
        ),
        images,
    )
    check_declarations(drv)
    await drv.init_host()
    try:
        yield drv
    finally:
        await drv.cleanup()


@pytest.fixture(scope="module")
def conn(daemon: libvirtd.Libvirtd) -> Iterator[libvirt.virConnect]:
    c = libvirt.open(daemon.uri())
    try:
        yield c
    finally:
        c.close()


# Power states the driver reported on its own: (uuid, state).
EVENTS: list[tuple[str, PowerState]] = []

SPEC = InstanceSpec(
    uuid=str(uuidlib.uuid4()),
    name="vm1",
    vcpus=1,
    memory_mb=256,
    root_gb=1,
    image_id="disk",
    image_properties={"kernel_id": "kernel", "ramdisk_id": "ramdisk"},
    config_drive=True,
    user_data="aGVsbG8=",
    networks=(RequestedNetwork(tag="mgmt"),),
    flavor_extra_specs={
        "quota:disk_total_iops_sec": "500",
        "quota:disk_read_bytes_sec": "10485760",
    },
)


async def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, argv, capture_output=True, text=True, timeout=30, check=False
    )


def serial(drv: LibvirtDriver) -> SerialLog:
    return SerialLog(drv.settings.instances_path / SPEC.uuid / "console.log")


async def test_host_capacity_is_the_real_host(driver: LibvirtDriver) -> None:
    cap = driver.get_host_capacity(HOST)
    assert cap.vcpus == os.cpu_count()
    assert cap.memory_mb > 1024 and cap.local_gb > 1
    assert "COMPUTE_IMAGE_TYPE_QCOW2" in cap.traits
    assert any(t.startswith("HW_CPU_X86_") for t in cap.traits)
    assert "up" in await driver.get_host_uptime(HOST)


async def test_spawn_boots_the_guest(driver: LibvirtDriver, conn: libvirt.virConnect) -> None:
    driver.watch_power_states(lambda _h, u, p: EVENTS.append((u, p)))
    ifaces = await driver.spawn(HOST, SPEC)
    assert ifaces[0].tag == "mgmt" and ifaces[0].mac_address.startswith("fa:16:3e:")
    log = serial(driver)
    await log.wait_boots(1)
    assert f"novamesh.uuid={SPEC.uuid}" in log.text()
    beat = await log.wait_heartbeat(lambda b: "vda" in b["disks"], what="vda in the guest")
    # The root disk is the flavor's 1 GiB, not the image's 64 MiB.
    assert f"vda:{SECTORS_PER_GIB}," in beat["disks"]
    assert "eth0" in beat["nics"]
    assert (await driver.get_info(HOST, SPEC.uuid)).power_state is PowerState.RUNNING
    # The spawn's caller reports RUNNING itself; libvirt's events for it are not repeated.
    await asyncio.sleep(EVENT_SETTLE_SECONDS + 1)
    assert (SPEC.uuid, PowerState.RUNNING) not in EVENTS
    # The config drive is an ISO labelled config-2 with OpenStack's layout.
    iso = driver.settings.instances_path / SPEC.uuid / "disk.config"
    listing = (await run(["isoinfo", "-R", "-f", "-i", str(iso)])).stdout
    assert "/openstack/latest/meta_data.json" in listing
    assert "/openstack/latest/user_data" in listing
    label = await run(["isoinfo", "-d", "-i", str(iso)])
    assert "config-2" in label.stdout
    meta = await run(["isoinfo", "-R", "-i", str(iso), "-x", "/openstack/latest/meta_data.json"])
    devices = json.loads(meta.stdout)["devices"]
    # The tagged port is in the metadata, found by its MAC (Nova's device tagging).
    assert devices == [
        {"type": "nic", "bus": "pci", "mac": ifaces[0].mac_address, "tags": ["mgmt"]}
    ]


async def test_disk_io_limits_come_from_the_flavor(conn: libvirt.virConnect) -> None:
    tune = conn.lookupByUUIDString(SPEC.uuid).blockIoTune("vda", 0)
    assert tune["total_iops_sec"] == 500
    assert tune["read_bytes_sec"] == 10485760


async def test_pause_and_unpause(driver: LibvirtDriver) -> None:
    log = serial(driver)
    await driver.pause(HOST, SPEC.uuid)
    assert (await driver.get_info(HOST, SPEC.uuid)).power_state is PowerState.PAUSED
    before = len(log.heartbeats())
    await asyncio.sleep(2.5)
    assert len(log.heartbeats()) <= before + 1  # a paused guest prints nothing
    await driver.unpause(HOST, SPEC.uuid)
    await log.wait_heartbeat(lambda b: True, what="heartbeats after unpause")


async def test_suspend_and_resume_keep_the_guest_running(driver: LibvirtDriver) -> None:
    log = serial(driver)
    up_before = float(log.heartbeats()[-1]["uptime"])
    await driver.suspend(HOST, SPEC.uuid)
    assert (await driver.get_info(HOST, SPEC.uuid)).power_state is PowerState.SUSPENDED
    await driver.resume(HOST, SPEC.uuid)
    beat = await log.wait_heartbeat(lambda b: True, what="heartbeats after resume")
    # Managed save restores the same boot: uptime continues, no new boot marker.
    assert float(beat["uptime"]) >= up_before
    assert log.boots() == 1


async def test_soft_and_hard_reboot(driver: LibvirtDriver) -> None:
    log = serial(driver)
    await driver.reboot(HOST, SPEC.uuid, hard=False)
    await log.wait_boots(2)
    assert "NOVAMESH-ACPI poweroff" in log.text()
    await driver.reboot(HOST, SPEC.uuid, hard=True)
    await log.wait_boots(3)
    assert (await driver.get_info(HOST, SPEC.uuid)).power_state is PowerState.RUNNING


async def test_console_output_and_vnc(driver: LibvirtDriver, daemon: libvirtd.Libvirtd) -> None:
    out = await driver.get_console_output(HOST, SPEC.uuid)
    assert "NOVAMESH-BOOT" in out
    host, port = await driver.get_vnc_console(HOST, SPEC.uuid)
    assert host == "127.0.0.1" and port >= 5900
    # The VNC server speaks RFB (inside the daemon's network namespace).
    banner = await run(
        ["nsenter", f"--net=/proc/{daemon.pid}/ns/net", "python3", "-c", _RFB.format(port=port)]
    )
    assert banner.stdout.startswith("RFB "), banner.stderr


_RFB = "import socket; s=socket.create_connection(('127.0.0.1',{port})); print(s.recv(12).decode())"


async def test_diagnostics_read_the_running_guest(driver: LibvirtDriver) -> None:
    diag = await driver.get_diagnostics(HOST, SPEC.uuid)
    assert diag.state == "running" and diag.driver == "libvirt" and diag.config_drive
    assert diag.memory_maximum == 256
    assert len(diag.cpu_details) == 1 and (diag.cpu_details[0].time or 0) > 0
    assert diag.disk_details and (diag.disk_details[0].read_bytes or 0) > 0
    assert len(diag.nic_details) == 1


async def test_crash_dump_sends_an_nmi(driver: LibvirtDriver) -> None:
    log = serial(driver)
    await driver.trigger_crash_dump(HOST, SPEC.uuid)
    await wait_until(lambda: "NMI" in log.text(), 15, "the guest kernel reporting the NMI")


async def test_attach_extend_swap_and_detach_volume(
    driver: LibvirtDriver, conn: libvirt.virConnect
) -> None:
    log = serial(driver)
    await driver.attach_volume(HOST, SPEC.uuid, "vol-1", "")
    (disk,) = [d for d in domain_devices(conn, SPEC.uuid, "disk") if d.findtext("serial")]
    target = disk.find("target").get("dev")  # type: ignore[union-attr]
    assert target == "vdb"
    # A new local volume is 1 GiB.
    await log.wait_heartbeat(
        lambda b: f"vdb:{SECTORS_PER_GIB}," in b["disks"], what="vdb in the guest"
    )
    # Extended live: the guest sees 2 GiB.
    await driver.extend_volume(HOST, SPEC.uuid, "vol-1", 2)
    await log.wait_heartbeat(
        lambda b: f"vdb:{2 * SECTORS_PER_GIB}," in b["disks"], what="vdb grown to 2 GiB"
    )
    # Swapped live for a new volume: same device in the guest, the new file behind it.
    await driver.swap_volume(HOST, SPEC.uuid, "vol-1", "vol-2")
    vol2 = str(driver.volume_path("vol-2"))
    (live,) = [d for d in domain_devices(conn, SPEC.uuid, "disk") if d.findtext("serial")]
    assert live.find("source").get("file") == vol2  # type: ignore[union-attr]
    # The running guest keeps the old serial; the definition it next boots from has the new.
    inactive = ET.fromstring(
        conn.lookupByUUIDString(SPEC.uuid).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    )
    (defined,) = [d for d in inactive.findall("./devices/disk") if d.findtext("serial")]
    assert defined.findtext("serial") == "vol-2"
    assert defined.find("source").get("file") == vol2  # type: ignore[union-attr]
    await log.wait_heartbeat(
        lambda b: f"vdb:{2 * SECTORS_PER_GIB}," in b["disks"], what="vdb still there"
    )
    await driver.detach_volume(HOST, SPEC.uuid, "vol-2")
    await log.wait_heartbeat(lambda b: "vdb:" not in b["disks"], what="vdb gone")
    assert not [d for d in domain_devices(conn, SPEC.uuid, "disk") if d.findtext("serial")]


async def test_attach_and_detach_interface(driver: LibvirtDriver, conn: libvirt.virConnect) -> None:
    log = serial(driver)
    port = str(uuidlib.uuid4())
    iface = await driver.attach_interface(HOST, SPEC.uuid, port, "net-1")
    await log.wait_heartbeat(lambda b: "eth1" in b["nics"], what="eth1 in the guest")
    macs = [i.find("mac").get("address") for i in domain_devices(conn, SPEC.uuid, "interface")]  # type: ignore[union-attr]
    assert iface.mac_address in macs and iface.port_id == port
    info = await driver.get_info(HOST, SPEC.uuid)
    assert [i.port_id for i in info.interfaces][-1] == port
    await driver.detach_interface(HOST, SPEC.uuid, port)
    await log.wait_heartbeat(lambda b: "eth1" not in b["nics"], what="eth1 gone")


async def test_snapshot_uploads_a_qcow2(driver: LibvirtDriver) -> None:
    await driver.snapshot(HOST, SPEC.uuid, "snap-1")
    assert _Uploads.received["/v2/images/snap-1/file"] > 0
    assert (await driver.get_info(HOST, SPEC.uuid)).power_state is PowerState.RUNNING


async def test_resize_then_revert_and_confirm(driver: LibvirtDriver) -> None:
    log = serial(driver)
    bigger = InstanceSpec(**{**SPEC.__dict__, "vcpus": 2, "memory_mb": 384, "root_gb": 2})
    await driver.migrate_disk_and_power_off(HOST, SPEC.uuid, HOST)
    await driver.finish_migration(HOST, bigger)
    beat = await log.wait_heartbeat(lambda b: b["cpus"] == "2", within=60, what="2 vCPUs")
    assert f"vda:{2 * SECTORS_PER_GIB}," in beat["disks"]
    # The agent reverts as Nova does: the destination's guest goes first (on the same host the
    # set-aside disk and spec stay), then the source's comes back.
    await driver.destroy(HOST, SPEC.uuid)
    await driver.finish_revert_migration(HOST, SPEC)
    beat = await log.wait_heartbeat(lambda b: b["cpus"] == "1", within=60, what="1 vCPU again")
    assert f"vda:{SECTORS_PER_GIB}," in beat["disks"]
    await driver.migrate_disk_and_power_off(HOST, SPEC.uuid, HOST)
    await driver.finish_migration(HOST, bigger)
    await log.wait_heartbeat(lambda b: b["cpus"] == "2", within=60, what="2 vCPUs again")
    await driver.confirm_migration(HOST, SPEC.uuid)
    assert (await driver.get_info(HOST, SPEC.uuid)).vcpus == 2


async def test_rescue_and_unrescue(driver: LibvirtDriver) -> None:
    log = serial(driver)
    await driver.rescue(HOST, SPEC.uuid, "disk", "secret")
    # Rescued: the rescue disk is vda, the guest's own disk (2 GiB after the resize) is vdb.
    await log.wait_heartbeat(
        lambda b: f"vdb:{2 * SECTORS_PER_GIB}," in b["disks"], within=60, what="rescue layout"
    )
    await driver.unrescue(HOST, SPEC.uuid)
    await log.wait_heartbeat(
        lambda b: f"vda:{2 * SECTORS_PER_GIB}," in b["disks"], within=60, what="own disk again"
    )


async def test_stop_start_and_terminate(driver: LibvirtDriver, conn: libvirt.virConnect) -> None:
    await driver.power_off(HOST, SPEC.uuid)
    assert (await driver.get_info(HOST, SPEC.uuid)).power_state is PowerState.SHUTDOWN
    await driver.power_on(HOST, SPEC.uuid)
    assert (await driver.get_info(HOST, SPEC.uuid)).power_state is PowerState.RUNNING
    # Behind the driver's back: libvirt's lifecycle events report it (the periodic sync is
    # set to ten minutes here, so nothing polled).
    await serial(driver).wait_heartbeat(lambda b: True, what="the guest up (ACPI handler ready)")
    dom = conn.lookupByUUIDString(SPEC.uuid)
    dom.suspend()
    await wait_until(lambda: EVENTS[-1:] == [(SPEC.uuid, PowerState.PAUSED)], 10, "PAUSED")
    dom.resume()
    await wait_until(lambda: EVENTS[-1:] == [(SPEC.uuid, PowerState.RUNNING)], 10, "RUNNING")
    dom.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)
    await wait_until(lambda: EVENTS[-1:] == [(SPEC.uuid, PowerState.SHUTDOWN)], 20, "SHUTDOWN")
    await driver.destroy(HOST, SPEC.uuid)
    with pytest.raises(InstanceNotFound):
        await driver.get_info(HOST, SPEC.uuid)
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByUUIDString(SPEC.uuid)
    assert not (driver.settings.instances_path / SPEC.uuid).exists()
    # Destroying again is not an error.
    await driver.destroy(HOST, SPEC.uuid)
