"""Server actions and their state preconditions (Nova's check_instance_state rules).

An action is accepted only when the instance's vm_state and task_state allow it (409
otherwise, with Nova's message); the router then moves the instance to the action's task state
with a compare-and-swap on those same states, so a concurrent change is also a 409.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from novamesh.cells.v1 import router_pb2
from novamesh.gateway.api import policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import Conflict, invalid_state
from novamesh.gateway.domain import states as s
from novamesh.gateway.domain.deps import Deps

# None in Nova's lists is "no task"; here it is "".
NO_TASK = ""

ALLOW_SOFT_REBOOT = [s.ACTIVE]
ALLOW_HARD_REBOOT = [s.ACTIVE, s.STOPPED, s.PAUSED, s.SUSPENDED, s.ERROR]
ALLOW_REBOOT_TASKS = [
    NO_TASK,
    s.REBOOTING,
    s.REBOOT_PENDING,
    s.REBOOT_STARTED,
    s.RESUMING,
    s.REBOOTING_HARD,
    s.UNPAUSING,
    s.PAUSING,
    s.SUSPENDING,
]


@dataclass(frozen=True)
class Transition:
    # Nova's name for the action in messages ('start', 'stop' ...).
    name: str
    policy: str
    vm_states: list[str] | None
    task_states: list[str] | None = field(default_factory=lambda: [NO_TASK])
    new_task_state: str = ""
    # Locked servers refuse it unless the caller is an admin.
    lock_checked: bool = True


_T = Transition
_SERVERS = "os_compute_api:servers"
_PAUSE = "os_compute_api:os-pause-server"
_SUSPEND = "os_compute_api:os-suspend-server"
_LOCK = "os_compute_api:os-lock-server"
_IDLE = [NO_TASK]
_RESCUE = "os_compute_api:os-rescue"
_UNRESCUE = "os_compute_api:os-unrescue"
_ADMIN_PASSWORD = "os_compute_api:os-admin-password"
_RESET_STATE = "os_compute_api:os-admin-actions:reset_state"
_MIGRATE = "os_compute_api:os-migrate-server:migrate"
RESCUING = "rescuing"
SOFT_DELETING = "soft-deleting"
RESTORING = "restoring"
_RESTORE = "os_compute_api:os-deferred-delete:restore"
_CREATE_IMAGE = "os_compute_api:servers:create_image"
_BACKUP = "os_compute_api:os-create-backup"
_SHELVE = "os_compute_api:os-shelve"
_REBUILD = "os_compute_api:servers:rebuild"
SNAPSHOTTABLE = [s.ACTIVE, s.STOPPED, s.PAUSED, s.SUSPENDED]
# A guest that runs somewhere can be soft-deleted; anything else is deleted at once.
SOFT_DELETABLE = [
    s.ACTIVE,
    s.STOPPED,
    s.PAUSED,
    s.SUSPENDED,
    s.RESCUED,
    s.RESIZED,
    s.ERROR,
]
UNRESCUING = "unrescuing"
INJECT_NETWORK_INFO = "os_compute_api:os-admin-actions:inject_network_info"

TRANSITIONS: dict[str, Transition] = {
    "start": _T("start", f"{_SERVERS}:start", [s.STOPPED], _IDLE, s.POWERING_ON),
    "stop": _T("stop", f"{_SERVERS}:stop", [s.ACTIVE, s.ERROR], _IDLE, s.POWERING_OFF),
    "reboot_soft": _T("reboot", f"{_SERVERS}:reboot", ALLOW_SOFT_REBOOT, _IDLE, s.REBOOTING),
    "reboot_hard": _T(
        "reboot", f"{_SERVERS}:reboot", ALLOW_HARD_REBOOT, ALLOW_REBOOT_TASKS, s.REBOOTING_HARD
    ),
    "pause": _T("pause", f"{_PAUSE}:pause", [s.ACTIVE], _IDLE, s.PAUSING),
    "unpause": _T("unpause", f"{_PAUSE}:unpause", [s.PAUSED], _IDLE, s.UNPAUSING),
    "suspend": _T("suspend", f"{_SUSPEND}:suspend", [s.ACTIVE], _IDLE, s.SUSPENDING),
    "resume": _T("resume", f"{_SUSPEND}:resume", [s.SUSPENDED], _IDLE, s.RESUMING),
    "lock": _T("lock", f"{_LOCK}:lock", None, None, "", lock_checked=False),
    "unlock": _T("unlock", f"{_LOCK}:unlock", None, None, "", lock_checked=False),
    # The rest of the server actions (Nova's compute/api.py check_instance_state rules).
    "confirmResize": _T("confirmResize", f"{_SERVERS}:confirm_resize", [s.RESIZED], _IDLE),
    "revertResize": _T(
        "revertResize", f"{_SERVERS}:revert_resize", [s.RESIZED], _IDLE, s.RESIZE_REVERTING
    ),
    "rescue": _T("rescue", _RESCUE, [s.ACTIVE, s.STOPPED, s.ERROR], _IDLE, RESCUING),
    "unrescue": _T("unrescue", _UNRESCUE, [s.RESCUED], _IDLE, UNRESCUING),
    "changePassword": _T("changePassword", _ADMIN_PASSWORD, [s.ACTIVE], _IDLE, s.UPDATING_PASSWORD),
    "trigger_crash_dump": _T(
        "trigger_crash_dump",
        f"{_SERVERS}:trigger_crash_dump",
        [s.ACTIVE, s.PAUSED, s.RESIZED, s.RESCUED, s.ERROR],
        _IDLE,
    ),
    "resetState": _T("resetState", _RESET_STATE, None, None, "", lock_checked=False),
    "resize": _T("resize", f"{_SERVERS}:resize", [s.ACTIVE, s.STOPPED], _IDLE, s.RESIZE_PREP),
    "migrate": _T("migrate", _MIGRATE, [s.ACTIVE, s.STOPPED], _IDLE, s.RESIZE_PREP),
    # Deferred delete (reclaim_instance_interval > 0): DELETE soft-deletes, restore undoes it.
    "softDelete": _T(
        "softDelete",
        f"{_SERVERS}:delete",
        SOFT_DELETABLE,
        _IDLE,
        SOFT_DELETING,
        lock_checked=False,
    ),
    "restore": _T("restore", _RESTORE, [s.SOFT_DELETED], _IDLE, RESTORING),
    "createImage": _T("createImage", _CREATE_IMAGE, SNAPSHOTTABLE, _IDLE, "image_snapshot"),
    "createBackup": _T("createBackup", _BACKUP, SNAPSHOTTABLE, _IDLE, "image_backup"),
    "live-migration": _T(
        "os-migrateLive", f"{_MIGRATE}_live", [s.ACTIVE, s.PAUSED], _IDLE, s.MIGRATING
    ),
    "evacuate": _T(
        "evacuate",
        "os_compute_api:os-evacuate",
        [s.ACTIVE, s.STOPPED, s.ERROR],
        _IDLE,
        s.REBUILDING,
        lock_checked=False,
    ),
    "rebuild": _T("rebuild", _REBUILD, [s.ACTIVE, s.STOPPED, s.ERROR], _IDLE, s.REBUILDING),
    "shelve": _T("shelve", f"{_SHELVE}:shelve", SNAPSHOTTABLE, _IDLE, "shelving"),
    "shelveOffload": _T(
        "shelveOffload", f"{_SHELVE}:shelve_offload", [s.SHELVED], _IDLE, "shelving_offloading"
    ),
    "unshelve": _T(
        "unshelve", f"{_SHELVE}:unshelve", [s.SHELVED, s.SHELVED_OFFLOADED], _IDLE, "unshelving"
    ),
}

for _name, _check, _desc in [
    (f"{_SERVERS}:resize", "rule:admin_or_owner", "Resize a server"),
    (f"{_SERVERS}:confirm_resize", "rule:admin_or_owner", "Confirm a resize"),
    (f"{_SERVERS}:revert_resize", "rule:admin_or_owner", "Revert a resize"),
    (f"{_SERVERS}:trigger_crash_dump", "rule:admin_or_owner", "Trigger a crash dump"),
    (_RESCUE, "rule:admin_or_owner", "Rescue a server"),
    (_UNRESCUE, "rule:admin_or_owner", "Unrescue a server"),
    (_ADMIN_PASSWORD, "rule:admin_or_owner", "Change a server's password"),
    (_RESET_STATE, "rule:admin_api", "Reset a server's state"),
    (_MIGRATE, "rule:admin_api", "Cold migrate a server"),
    (_RESTORE, "rule:admin_or_owner", "Restore a soft-deleted server"),
    (_CREATE_IMAGE, "rule:admin_or_owner", "Snapshot a server"),
    (_BACKUP, "rule:admin_or_owner", "Back up a server"),
    (f"{_SHELVE}:shelve", "rule:admin_or_owner", "Shelve a server"),
    (_REBUILD, "rule:admin_or_owner", "Rebuild a server"),
    (f"{_SHELVE}:shelve_offload", "rule:admin_api", "Offload a shelved server"),
    (f"{_SHELVE}:unshelve", "rule:admin_or_owner", "Unshelve a server"),
    (f"{_SHELVE}:unshelve_to_host", "rule:admin_api", "Unshelve a server to a named host"),
    ("os_compute_api:os-deferred-delete:force", "rule:admin_or_owner", "Force-delete a server"),
    (f"{_MIGRATE}:host", "rule:admin_api", "Cold migrate a server to a named host"),
    (f"{_MIGRATE}_live", "rule:admin_api", "Live-migrate a server"),
    ("os_compute_api:os-evacuate", "rule:admin_api", "Evacuate a server from a dead host"),
    ("os_compute_api:os-console-output", "rule:admin_or_owner", "A server's console log"),
    (INJECT_NETWORK_INFO, "rule:admin_api", "Inject network info into a server"),
]:
    policy.register(_name, _check, _desc)


def check(who: Identity, inst: router_pb2.Instance, tr: Transition) -> None:
    """Raise 409 as Nova would when `inst` cannot take transition `tr` now."""
    if tr.lock_checked and inst.locked and not who.is_admin:
        raise Conflict(f"Instance {inst.uuid} is locked")
    if tr.vm_states is not None and inst.vm_state not in tr.vm_states:
        raise invalid_state(inst.uuid, "vm_state", inst.vm_state, tr.name)
    if tr.task_states is not None and inst.task_state not in tr.task_states:
        raise invalid_state(inst.uuid, "task_state", inst.task_state or "None", tr.name)


async def run(
    deps: Deps,
    who: Identity,
    request_id: str,
    inst: router_pb2.Instance,
    key: str,
    params: dict[str, str] | None = None,
) -> router_pb2.Instance:
    tr = TRANSITIONS[key]
    policy.authorize(who, tr.policy, inst.project_id)
    check(who, inst, tr)
    action = tr.name if key not in ("reboot_soft", "reboot_hard") else "reboot"
    request = router_pb2.InstanceActionRequest(
        uuid=inst.uuid,
        action=action,
        params=params or {},
        expected_vm_states=tr.vm_states or [],
        expected_task_states=tr.task_states or [],
        task_state=tr.new_task_state,
        request_id=request_id,
    )
    return await deps.router.instance_action(request)
