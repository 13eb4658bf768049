"""Nova's vm_state/task_state vocabulary and the API status derived from it.

The mapping is Nova's (seed 004, "Virtual Machine States and Transitions"): the API status is
the vm_state's default unless the task_state names a transition the API shows, e.g. ACTIVE with
task `rebooting` is REBOOT.
"""

from __future__ import annotations

ACTIVE = "active"
BUILDING = "building"
PAUSED = "paused"
SUSPENDED = "suspended"
STOPPED = "stopped"
RESCUED = "rescued"
RESIZED = "resized"
SOFT_DELETED = "soft-delete"
DELETED = "deleted"
ERROR = "error"
SHELVED = "shelved"
SHELVED_OFFLOADED = "shelved_offloaded"

# task states
SCHEDULING = "scheduling"
REBOOTING = "rebooting"
REBOOT_PENDING = "reboot_pending"
REBOOT_STARTED = "reboot_started"
REBOOTING_HARD = "rebooting_hard"
REBOOT_PENDING_HARD = "reboot_pending_hard"
REBOOT_STARTED_HARD = "reboot_started_hard"
UPDATING_PASSWORD = "updating_password"
REBUILDING = "rebuilding"
REBUILD_BLOCK_DEVICE_MAPPING = "rebuild_block_device_mapping"
REBUILD_SPAWNING = "rebuild_spawning"
MIGRATING = "migrating"
RESIZE_PREP = "resize_prep"
RESIZE_MIGRATING = "resize_migrating"
RESIZE_MIGRATED = "resize_migrated"
RESIZE_FINISH = "resize_finish"
RESIZE_REVERTING = "resize_reverting"
POWERING_OFF = "powering-off"
POWERING_ON = "powering-on"
PAUSING = "pausing"
UNPAUSING = "unpausing"
SUSPENDING = "suspending"
RESUMING = "resuming"
DELETING = "deleting"

_REBOOT = {REBOOTING: "REBOOT", REBOOT_PENDING: "REBOOT", REBOOT_STARTED: "REBOOT"}
_HARD_REBOOT = {
    REBOOTING_HARD: "HARD_REBOOT",
    REBOOT_PENDING_HARD: "HARD_REBOOT",
    REBOOT_STARTED_HARD: "HARD_REBOOT",
}
_REBUILD = {
    REBUILDING: "REBUILD",
    REBUILD_BLOCK_DEVICE_MAPPING: "REBUILD",
    REBUILD_SPAWNING: "REBUILD",
}
_RESIZE = {
    RESIZE_PREP: "RESIZE",
    RESIZE_MIGRATING: "RESIZE",
    RESIZE_MIGRATED: "RESIZE",
    RESIZE_FINISH: "RESIZE",
}

STATE_MAP: dict[str, dict[str, str]] = {
    ACTIVE: {
        "default": "ACTIVE",
        **_REBOOT,
        **_HARD_REBOOT,
        UPDATING_PASSWORD: "PASSWORD",
        **_REBUILD,
        MIGRATING: "MIGRATING",
        **_RESIZE,
    },
    BUILDING: {"default": "BUILD"},
    STOPPED: {"default": "SHUTOFF", **_RESIZE, **_REBUILD},
    RESIZED: {"default": "VERIFY_RESIZE", RESIZE_REVERTING: "REVERT_RESIZE"},
    PAUSED: {"default": "PAUSED", MIGRATING: "MIGRATING"},
    SUSPENDED: {"default": "SUSPENDED"},
    RESCUED: {"default": "RESCUE"},
    ERROR: {"default": "ERROR", **_REBUILD},
    DELETED: {"default": "DELETED"},
    SOFT_DELETED: {"default": "SOFT_DELETED"},
    SHELVED: {"default": "SHELVED"},
    SHELVED_OFFLOADED: {"default": "SHELVED_OFFLOADED"},
}


def status(vm_state: str, task_state: str, deleted: bool = False) -> str:
    if deleted:
        return "DELETED"
    task_map = STATE_MAP.get(vm_state, {"default": "UNKNOWN"})
    return task_map.get(task_state or "default", task_map["default"])


def states_for_status(api_status: str) -> tuple[list[str], list[str]] | None:
    """(vm_states, task_states) whose status is `api_status`; None for an unknown status.

    An empty task list means any task state. Used for the `status` list filter, where Nova
    matches on vm_state (plus the task states for the transitional statuses).
    """
    wanted = api_status.upper()
    vms: list[str] = []
    tasks: set[str] = set()
    for vm_state, task_map in STATE_MAP.items():
        if task_map["default"] == wanted:
            vms.append(vm_state)
        for task, name in task_map.items():
            if task != "default" and name == wanted:
                vms.append(vm_state)
                tasks.add(task)
    if not vms:
        return None
    if tasks:
        return sorted(set(vms)), sorted(tasks)
    return sorted(set(vms)), []
