"""What the libvirt driver supports, per virt type (support-matrix rows).

Kept apart from the driver so the support matrix can be generated where libvirt-python is not
installed.
"""

from __future__ import annotations

_COMMON = frozenset(
    {
        "operation.launch",
        "operation.terminate",
        "operation.reboot",
        "operation.get-guest-info",
        "operation.get-host-uptime",
        "operation.get-host-ip",
        "operation.pause",
        "operation.unpause",
        "operation.report-cpu-traits",
        "storage.image",
    }
)
CAPABILITIES = {
    "qemu": _COMMON
    | {
        "operation.suspend",
        "operation.resume",
        "operation.snapshot",
        "operation.rebuild",
        "operation.resize",
        "operation.live-migrate",
        "operation.force-live-migration-to-complete",
        "operation.abort-in-progress-live-migration",
        "operation.evacuate",
        "operation.rescue",
        "operation.trigger-crash-dump",
        "operation.attach-volume",
        "operation.detach-volume",
        "operation.extend-volume",
        "operation.swap-volume",
        "operation.attach-interface",
        "operation.detach-interface",
        "console.serial.log",
        "console.vnc",
        "guest.setup.configdrive",
        "operation.device-tags",
        "guest.disk.rate-limit",
    },
    "lxc": _COMMON,
}
CAPABILITIES["kvm"] = CAPABILITIES["qemu"]
