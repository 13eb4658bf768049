"""The libvirt driver with virt_type lxc: a busybox container from a rootfs tarball.

libvirtd runs in a mount namespace without /sys/fs/cgroup/unified (see tests/support/libvirtd),
without which libvirt's LXC driver cannot start containers on hybrid-cgroup hosts. The
container's init appends its markers to /var/log/console.log in its root, which the test reads.
"""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.agent.states import PowerState
from novamesh.agent.virt.driver import check_declarations
from novamesh.agent.virt.libvirt.driver import LibvirtDriver
from novamesh.agent.virt.libvirt.settings import LibvirtSettings
from novamesh.agent.virt.model import InstanceNotFound, InstanceSpec

from tests.libvirt.conftest import FileImages
from tests.libvirt.guestwatch import SerialLog
from tests.support import libvirtd

HOST = "lxc-test-host"

SPEC = InstanceSpec(
    uuid=str(uuidlib.uuid4()),
    name="ct1",
    vcpus=1,
    memory_mb=128,
    image_id="rootfs",
    image_properties={"os_command_line": "/init-lxc"},
)


@pytest.fixture(scope="module")
async def driver(
    daemon: libvirtd.Libvirtd, guest_image: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LibvirtDriver]:
    drv = LibvirtDriver(
        LibvirtSettings(
            uri=daemon.uri("lxc"),
            virt_type="lxc",
            instances_path=tmp_path_factory.mktemp("lxc-instances"),
            image_target="",
            host=HOST,
            network_bridge=f"nm{uuidlib.uuid4().hex[:8]}",
            shutdown_timeout=5.0,
        ),
        FileImages({"rootfs": guest_image / "rootfs.tar.gz"}, {}),
    )
    check_declarations(drv)
    await drv.init_host()
    try:
        yield drv
    finally:
        await drv.destroy(HOST, SPEC.uuid)
        await drv.cleanup()


def console(drv: LibvirtDriver) -> SerialLog:
    return SerialLog(drv.settings.instances_path / SPEC.uuid / "rootfs/var/log/console.log")


async def test_container_lifecycle(driver: LibvirtDriver) -> None:
    ifaces = await driver.spawn(HOST, SPEC)
    log = console(driver)
    await log.wait_boots(1, within=20)
    beat = await log.wait_heartbeat(lambda b: "eth0" in b["nics"], what="the container's NIC")
    assert beat["nics"].startswith("eth0") and ifaces[0].mac_address
    assert (await driver.get_info(HOST, SPEC.uuid)).power_state is PowerState.RUNNING

    await driver.pause(HOST, SPEC.uuid)
    assert (await driver.get_info(HOST, SPEC.uuid)).power_state is PowerState.PAUSED
    frozen = len(log.heartbeats())
    await asyncio.sleep(2.5)
    assert len(log.heartbeats()) <= frozen + 1
    await driver.unpause(HOST, SPEC.uuid)
    await log.wait_heartbeat(lambda b: True, what="heartbeats after unpause")

    # Soft reboot: SIGTERM to init, which exits; then the container starts again.
    await driver.reboot(HOST, SPEC.uuid, hard=False)
    await log.wait_boots(2, within=20)
    assert "NOVAMESH-ACPI poweroff" in log.text()
    await driver.reboot(HOST, SPEC.uuid, hard=True)
    await log.wait_boots(3, within=20)

    await driver.power_off(HOST, SPEC.uuid)
    assert (await driver.get_info(HOST, SPEC.uuid)).power_state is PowerState.SHUTDOWN
    await driver.power_on(HOST, SPEC.uuid)
    await log.wait_boots(4, within=20)

    await driver.destroy(HOST, SPEC.uuid)
    with pytest.raises(InstanceNotFound):
        await driver.get_info(HOST, SPEC.uuid)
