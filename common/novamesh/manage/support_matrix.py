"""`novamesh-manage support-matrix`: the hypervisor support matrix, generated.

Rows are Nova's support-matrix features (the capability names drivers declare); columns are
the drivers. A cell is `complete` only when the driver declares the capability AND a named test
exercises it on that driver; a declared capability no test names yet is `partial`; anything
else is `missing`. Drivers Nova has and novamesh does not (VMware, Ironic, zVM, KVM on other
architectures, Virtuozzo) are columns of `missing`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass

from novamesh.agent.virt.capabilities import MATRIX_ROWS

_FAKE_TESTS = "services/compute-agent/tests/agent/test_fake_driver.py"
_LV_DRIVER = "tests/libvirt/test_driver.py"
_LV_MESH = "tests/libvirt/test_mesh.py"
_LV_TWO = "tests/libvirt/test_mesh_two_hosts.py"

FAKE_PROOFS = {
    "operation.launch": f"{_FAKE_TESTS}::test_spawn_runs_the_guest_with_a_private_address",
    "operation.terminate": f"{_FAKE_TESTS}::test_destroy_is_idempotent",
    "operation.reboot": f"{_FAKE_TESTS}::test_power_actions_follow_the_guest_state",
    "operation.get-guest-info": f"{_FAKE_TESTS}::test_power_actions_follow_the_guest_state",
    "operation.pause": f"{_FAKE_TESTS}::test_power_actions_follow_the_guest_state",
    "operation.unpause": f"{_FAKE_TESTS}::test_power_actions_follow_the_guest_state",
    "operation.suspend": f"{_FAKE_TESTS}::test_power_actions_follow_the_guest_state",
    "operation.resume": f"{_FAKE_TESTS}::test_power_actions_follow_the_guest_state",
}

LIBVIRT_QEMU_PROOFS = {
    "operation.launch": f"{_LV_MESH}::test_boot_runs_a_real_guest",
    "storage.image": f"{_LV_MESH}::test_boot_runs_a_real_guest",
    "operation.terminate": f"{_LV_MESH}::test_delete_removes_the_domain_and_its_files",
    "operation.reboot": f"{_LV_MESH}::test_soft_and_hard_reboot",
    "operation.rebuild": f"{_LV_MESH}::test_rebuild_boots_a_fresh_guest",
    "operation.pause": f"{_LV_MESH}::test_pause_unpause_suspend_resume",
    "operation.unpause": f"{_LV_MESH}::test_pause_unpause_suspend_resume",
    "operation.suspend": f"{_LV_MESH}::test_pause_unpause_suspend_resume",
    "operation.resume": f"{_LV_MESH}::test_pause_unpause_suspend_resume",
    "operation.get-guest-info": f"{_LV_DRIVER}::test_spawn_boots_the_guest",
    "guest.setup.configdrive": f"{_LV_DRIVER}::test_spawn_boots_the_guest",
    "operation.device-tags": f"{_LV_DRIVER}::test_spawn_boots_the_guest",
    "operation.get-host-uptime": f"{_LV_DRIVER}::test_host_capacity_is_the_real_host",
    "operation.get-host-ip": f"{_LV_DRIVER}::test_host_capacity_is_the_real_host",
    "operation.report-cpu-traits": f"{_LV_DRIVER}::test_host_capacity_is_the_real_host",
    "operation.snapshot": f"{_LV_MESH}::test_snapshot_becomes_an_active_qcow2_image",
    "operation.resize": f"{_LV_MESH}::test_resize_confirm_and_revert_change_the_guest",
    "operation.live-migrate": f"{_LV_TWO}::test_live_migration_then_evacuation_through_the_api",
    "operation.evacuate": f"{_LV_TWO}::test_live_migration_then_evacuation_through_the_api",
    "operation.rescue": f"{_LV_MESH}::test_rescue_boots_the_rescue_disk_first",
    "operation.trigger-crash-dump": f"{_LV_MESH}::test_crash_dump_reaches_the_guest_kernel",
    "operation.attach-volume": f"{_LV_MESH}::test_attach_and_detach_a_volume",
    "operation.detach-volume": f"{_LV_MESH}::test_attach_and_detach_a_volume",
    "operation.extend-volume": f"{_LV_DRIVER}::test_attach_extend_swap_and_detach_volume",
    "operation.swap-volume": f"{_LV_DRIVER}::test_attach_extend_swap_and_detach_volume",
    "guest.disk.rate-limit": f"{_LV_DRIVER}::test_disk_io_limits_come_from_the_flavor",
    "operation.attach-interface": f"{_LV_DRIVER}::test_attach_and_detach_interface",
    "operation.detach-interface": f"{_LV_DRIVER}::test_attach_and_detach_interface",
    "console.serial.log": f"{_LV_MESH}::test_console_output_is_the_serial_log",
    "console.vnc": f"{_LV_MESH}::test_vnc_console_and_diagnostics",
}

_LV_LXC = "tests/libvirt/test_lxc.py::test_container_lifecycle"
_LV_LXC_MESH = "tests/libvirt/test_mesh_lxc.py::test_container_boots_stops_starts_and_goes"
LIBVIRT_LXC_PROOFS = {
    "operation.launch": _LV_LXC_MESH,
    "operation.terminate": _LV_LXC_MESH,
    "storage.image": _LV_LXC_MESH,
    "operation.reboot": _LV_LXC,
    "operation.get-guest-info": _LV_LXC,
    "operation.pause": _LV_LXC,
    "operation.unpause": _LV_LXC,
}


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    capabilities: frozenset[str]
    proofs: Mapping[str, str]


@dataclass(frozen=True)
class Cell:
    level: str  # complete, partial or missing
    test: str = ""


def _fake_capabilities() -> frozenset[str]:
    from novamesh.agent.virt.fake import FakeDriver

    return frozenset(FakeDriver.capabilities)


def _libvirt_capabilities(virt_type: str) -> frozenset[str]:
    from novamesh.agent.virt.libvirt.capabilities import CAPABILITIES

    return CAPABILITIES[virt_type]


def columns() -> list[Column]:
    none: frozenset[str] = frozenset()
    return [
        Column("fake", "Fake (simulated hosts)", _fake_capabilities(), FAKE_PROOFS),
        Column(
            "libvirt-qemu-x86",
            "Libvirt QEMU (x86)",
            _libvirt_capabilities("qemu"),
            LIBVIRT_QEMU_PROOFS,
        ),
        Column("libvirt-lxc", "Libvirt LXC", _libvirt_capabilities("lxc"), LIBVIRT_LXC_PROOFS),
        # KVM is the same code as QEMU, but no machine this project tests on can run it.
        Column("libvirt-kvm-x86", "Libvirt KVM (x86)", none, {}),
        Column("libvirt-kvm-aarch64", "Libvirt KVM (aarch64)", none, {}),
        Column("libvirt-kvm-ppc64", "Libvirt KVM (ppc64)", none, {}),
        Column("libvirt-kvm-s390x", "Libvirt KVM (s390x)", none, {}),
        Column("libvirt-vz-vm", "Libvirt Virtuozzo VM", none, {}),
        Column("libvirt-vz-ct", "Libvirt Virtuozzo CT", none, {}),
        Column("vmware", "VMware vCenter", none, {}),
        Column("ironic", "Ironic", none, {}),
        Column("zvm", "zVM", none, {}),
    ]


def cell(column: Column, row: str) -> Cell:
    if row not in column.capabilities:
        return Cell("missing")
    test = column.proofs.get(row, "")
    return Cell("complete", test) if test else Cell("partial")


def matrix() -> dict[str, dict[str, Cell]]:
    cols = columns()
    return {row: {c.key: cell(c, row) for c in cols} for row in MATRIX_ROWS}


def render_ini() -> str:
    out = io.StringIO()
    out.write("# Generated by `novamesh-manage support-matrix`; do not edit.\n")
    out.write("# complete: declared and proven by the named test; partial: declared, no test\n")
    out.write("# names it yet; missing: not implemented.\n\n")
    cols = columns()
    for c in cols:
        out.write(f"[driver.{c.key}]\ntitle={c.title}\n\n")
    for row, cells in matrix().items():
        out.write(f"[{row}]\n")
        for key, value in cells.items():
            out.write(f"driver.{key}={value.level}\n")
            if value.test:
                out.write(f"driver-test.{key}={value.test}\n")
        out.write("\n")
    return out.getvalue()


def render_markdown() -> str:
    cols = columns()
    lines = [
        "| feature | " + " | ".join(c.key for c in cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    for row, cells in matrix().items():
        lines.append(f"| {row} | " + " | ".join(cells[c.key].level for c in cols) + " |")
    lines.append("")
    lines.append("Tests proving each `complete` cell:")
    lines.append("")
    for row, cells in matrix().items():
        for key, value in cells.items():
            if value.test:
                lines.append(f"- {row} / {key}: `{value.test}`")
    return "\n".join(lines) + "\n"
