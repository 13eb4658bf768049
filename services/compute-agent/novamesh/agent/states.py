"""Nova's instance state model as the agent reports it: power, vm and task states, action events.

Values are Nova's own strings and numbers, because the router stores them as they come and the
API shows them to users unchanged.
"""

from __future__ import annotations

import enum


class PowerState(enum.IntEnum):
    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7


class VmState:
    ACTIVE = "active"
    BUILDING = "building"
    PAUSED = "paused"
    SUSPENDED = "suspended"
    STOPPED = "stopped"
    DELETED = "deleted"
    ERROR = "error"


class TaskState:
    NONE = ""
    SCHEDULING = "scheduling"
    NETWORKING = "networking"
    BLOCK_DEVICE_MAPPING = "block_device_mapping"
    SPAWNING = "spawning"
    POWERING_OFF = "powering-off"
    POWERING_ON = "powering-on"
    REBOOT_STARTED = "reboot_started"
    REBOOT_STARTED_HARD = "reboot_started_hard"
    PAUSING = "pausing"
    UNPAUSING = "unpausing"
    SUSPENDING = "suspending"
    RESUMING = "resuming"
    DELETING = "deleting"


class Event:
    """Instance-action event names (Nova's `compute_<method>` wrapper names)."""

    BUILD = "compute__do_build_and_run_instance"
    TERMINATE = "compute_terminate_instance"
    START = "compute_start_instance"
    STOP = "compute_stop_instance"
    REBOOT = "compute_reboot_instance"
    PAUSE = "compute_pause_instance"
    UNPAUSE = "compute_unpause_instance"
    SUSPEND = "compute_suspend_instance"
    RESUME = "compute_resume_instance"


SUCCESS = "Success"
ERROR = "Error"


def vm_state_for(power: PowerState) -> str:
    """The vm_state a guest in this power state settles in (used to undo a failed task)."""
    return {
        PowerState.RUNNING: VmState.ACTIVE,
        PowerState.PAUSED: VmState.PAUSED,
        PowerState.SUSPENDED: VmState.SUSPENDED,
        PowerState.SHUTDOWN: VmState.STOPPED,
        PowerState.CRASHED: VmState.STOPPED,
    }.get(power, VmState.ERROR)
