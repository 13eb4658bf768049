"""The capability names a driver may declare: the feature rows of Nova's hypervisor support
matrix, in the matrix's order, so a support matrix generated from the declarations has the
same rows as Nova's."""

from __future__ import annotations

MATRIX_ROWS: tuple[str, ...] = (
    "operation.attach-volume",
    "operation.attach-tagged-volume",
    "operation.detach-volume",
    "operation.extend-volume",
    "operation.attach-interface",
    "operation.attach-tagged-interface",
    "operation.detach-interface",
    "operation.maintenance-mode",
    "operation.evacuate",
    "operation.rebuild",
    "operation.rebuild-volume-backed",
    "operation.get-guest-info",
    "operation.get-host-uptime",
    "operation.get-host-ip",
    "operation.live-migrate",
    "operation.force-live-migration-to-complete",
    "operation.abort-in-progress-live-migration",
    "operation.launch",
    "operation.pause",
    "operation.reboot",
    "operation.rescue",
    "operation.resize",
    "operation.resume",
    "operation.set-admin-password",
    "operation.snapshot",
    "operation.suspend",
    "operation.swap-volume",
    "operation.terminate",
    "operation.trigger-crash-dump",
    "operation.unpause",
    "guest.disk.autoconfig",
    "guest.disk.rate-limit",
    "guest.setup.configdrive",
    "guest.setup.inject.file",
    "guest.setup.inject.networking",
    "console.rdp",
    "console.serial.log",
    "console.serial.interactive",
    "console.spice",
    "console.vnc",
    "storage.block",
    "storage.block.backend.fibrechannel",
    "storage.block.backend.iscsi",
    "storage.block.backend.iscsi.auth.chap",
    "storage.image",
    "operation.uefi-boot",
    "operation.device-tags",
    "operation.quiesce",
    "operation.unquiesce",
    "operation.multiattach-volume",
    "operation.encrypted-volume",
    "operation.trusted-certs",
    "operation.file-backed-memory",
    "operation.report-cpu-traits",
    "operation.port-with-resource-request",
    "operation.boot-encrypted-vm",
    "operation.cache-images",
    "operation.boot-emulated-tpm",
    "operation.boot-stateless-firmware",
)

KNOWN = frozenset(MATRIX_ROWS)


def support_levels(capabilities: frozenset[str]) -> dict[str, str]:
    """Every matrix row with `complete` or `missing` for a driver declaring `capabilities`."""
    return {row: "complete" if row in capabilities else "missing" for row in MATRIX_ROWS}
