"""Server actions on the host: resize and cold-migration steps, rescue, password, crash dump,
console log.

A move is run by the router one step per host: MigrateOut on the source (the guest stops and
its resources are held under the migration's uuid), FinishMigration on the destination (the
guest runs there with its new flavor, vm_state resized), then ConfirmMigration on the source
(the held guest and resources go) or RevertMigration on both (the destination's guest goes, the
source's comes back). Each step reports the states Nova's compute manager walks through.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from novamesh.agent import action_commands as ac
from novamesh.agent import states
from novamesh.agent.commands import Sink, StateUpdate
from novamesh.agent.live_migration import LiveMigrations
from novamesh.agent.resources import ResourceTracker
from novamesh.agent.states import PowerState, VmState
from novamesh.agent.virt import driver as drv
from novamesh.agent.virt.model import DriverError, NotSupported

LockFactory = Callable[[str], AbstractAsyncContextManager[None]]

RESCUED = "rescued"
RESIZED = "resized"
SHELVED = "shelved"
SHELVED_OFFLOADED = "shelved_offloaded"


class Event:
    RESIZE = "compute_resize_instance"
    FINISH_RESIZE = "compute_finish_resize"
    REVERT_RESIZE = "compute_finish_revert_resize"
    RESCUE = "compute_rescue_instance"
    UNRESCUE = "compute_unrescue_instance"
    SET_PASSWORD = "compute_set_admin_password"
    CRASH_DUMP = "compute_trigger_crash_dump"
    SNAPSHOT = "compute_snapshot_instance"
    SHELVE_OFFLOAD = "compute_shelve_offload_instance"
    UNSHELVE = "compute_unshelve_instance"
    REBUILD = "compute_rebuild_instance"
    LIVE_MIGRATION = "compute_live_migration"
    BACKUP = "compute_backup_instance"


class Result:
    """What a step answers: an error, or success with optional data."""

    def __init__(self, error: DriverError | None = None, data: dict[str, str] | None = None):
        self.error = error
        self.data = data or {}


class ActionRunner:
    def __init__(
        self, driver: drv.Driver, tracker: ResourceTracker, sink: Sink, lock: LockFactory
    ) -> None:
        self._driver = driver
        self._tracker = tracker
        self._sink = sink
        self._lock = lock
        self._live = LiveMigrations(driver, tracker, sink)

    async def stop_live_migration(self, host: str, uuid: str) -> None:
        """The guest is being deleted: a live migration of it running here ends first."""
        await self._live.stop(host, uuid)

    def span_name(self, command: ac.ActionCommand) -> str:
        return f"agent.{type(command).__name__.lower()}"

    async def run(self, host: str, command: ac.ActionCommand) -> Result:
        uuid = ac.instance_uuid(command)
        if isinstance(command, ac.LiveMigrationForceComplete | ac.LiveMigrationAbort):
            # The migration they act on holds the guest's lock until it ends.
            try:
                return await self._dispatch(host, command)
            except DriverError as exc:
                return Result(exc)
        async with self._lock(uuid):
            try:
                return await self._dispatch(host, command)
            except DriverError as exc:
                return Result(exc)

    async def _dispatch(self, host: str, c: ac.ActionCommand) -> Result:
        match c:
            case ac.MigrateOut():
                return await self._migrate_out(host, c)
            case ac.FinishMigration():
                return await self._finish(host, c)
            case ac.ConfirmMigration():
                self._need("operation.resize")
                await self._resizer().confirm_migration(host, c.uuid)
                if self._tracker.release(c.migration_uuid) is not None:
                    self._sink.host_resources(self._tracker.report(host))
                return Result()
            case ac.RevertMigration():
                return await self._revert(host, c)
            case ac.Rescue():
                return await self._rescue(host, c)
            case ac.Unrescue():
                return await self._unrescue(host, c)
            case ac.SetAdminPassword():
                return await self._set_password(host, c)
            case ac.TriggerCrashDump():
                self._need("operation.trigger-crash-dump")
                assert isinstance(self._driver, drv.CrashDumpable)
                await self._driver.trigger_crash_dump(host, c.uuid)
                return Result()
            case ac.Snapshot():
                return await self._snapshot(host, c)
            case ac.ShelveOffload():
                return await self._shelve_offload(host, c)
            case ac.Unshelve():
                return await self._unshelve(host, c)
            case ac.Rebuild():
                return await self._rebuild(host, c)
            case ac.LiveMigrate():
                error, cancelled = await self._live.migrate(host, c)
                return Result(error, {"status": "cancelled"} if cancelled else None)
            case ac.PostLiveMigrationAtDestination():
                await self._live.arrived(host, c)
                return Result()
            case ac.LiveMigrationForceComplete():
                await self._live.force_complete(host, c)
                return Result()
            case ac.LiveMigrationAbort():
                await self._live.abort(host, c)
                return Result()
            case ac.GetConsoleOutput():
                self._need("console.serial.log")
                assert isinstance(self._driver, drv.ConsoleOutput)
                text = await self._driver.get_console_output(host, c.uuid)
                return Result(data={"output": _tail(text, c.length)})

    # ---- moves ------------------------------------------------------------------------

    async def _migrate_out(self, host: str, c: ac.MigrateOut) -> Result:
        self._need("operation.resize")
        before = await self._driver.get_info(host, c.uuid)
        vm_state = states.vm_state_for(before.power_state)
        self._update(c.uuid, host, vm_state, "resize_migrating", before.power_state)
        try:
            await self._resizer().migrate_disk_and_power_off(host, c.uuid, c.dest_host)
        except DriverError as exc:
            now = await self._power(host, c.uuid)
            self._update(c.uuid, host, states.vm_state_for(now), "", now, Event.RESIZE, exc)
            return Result(exc)
        self._tracker.rekey(c.uuid, c.migration_uuid)
        self._update(c.uuid, host, vm_state, "resize_migrated", PowerState.SHUTDOWN, Event.RESIZE)
        return Result()

    async def _finish(self, host: str, c: ac.FinishMigration) -> Result:
        self._need("operation.resize")
        inst = c.instance
        try:
            self._tracker.claim(host, inst)
        except DriverError as exc:
            return Result(exc)
        self._sink.host_resources(self._tracker.report(host))
        self._update(inst.uuid, host, VmState.ACTIVE, "resize_finish", PowerState.NOSTATE)
        try:
            await self._resizer().finish_migration(host, inst)
            if not c.power_on:
                await self._driver.power_off(host, inst.uuid)
            info = await self._driver.get_info(host, inst.uuid)
        except DriverError as exc:
            if self._tracker.release(inst.uuid) is not None:
                self._sink.host_resources(self._tracker.report(host))
            self._update(
                inst.uuid, host, VmState.ERROR, "", PowerState.NOSTATE, Event.FINISH_RESIZE, exc
            )
            return Result(exc)
        self._update(inst.uuid, host, RESIZED, "", info.power_state, Event.FINISH_RESIZE)
        return Result()

    async def _revert(self, host: str, c: ac.RevertMigration) -> Result:
        self._need("operation.resize")
        inst = c.instance
        if c.destroy_only:
            await self._driver.destroy(host, inst.uuid)
            if self._tracker.release(inst.uuid) is not None:
                self._sink.host_resources(self._tracker.report(host))
            return Result()
        try:
            await self._resizer().finish_revert_migration(host, inst)
            if not c.power_on:
                await self._driver.power_off(host, inst.uuid)
            info = await self._driver.get_info(host, inst.uuid)
        except DriverError as exc:
            self._update(
                inst.uuid, host, VmState.ERROR, "", PowerState.NOSTATE, Event.REVERT_RESIZE, exc
            )
            return Result(exc)
        self._tracker.rekey(c.migration_uuid, inst.uuid)
        self._sink.host_resources(self._tracker.report(host))
        vm_state = VmState.ACTIVE if c.power_on else VmState.STOPPED
        self._update(inst.uuid, host, vm_state, "", info.power_state, Event.REVERT_RESIZE)
        return Result()

    # ---- rescue, password -------------------------------------------------------------

    async def _rescue(self, host: str, c: ac.Rescue) -> Result:
        self._need("operation.rescue")
        assert isinstance(self._driver, drv.Rescuable)
        before = await self._driver.get_info(host, c.uuid)
        self._update(
            c.uuid, host, states.vm_state_for(before.power_state), "rescuing", before.power_state
        )
        try:
            await self._driver.rescue(host, c.uuid, c.image_id, c.admin_pass)
        except DriverError as exc:
            now = await self._power(host, c.uuid)
            self._update(c.uuid, host, VmState.ERROR, "", now, Event.RESCUE, exc)
            return Result(exc)
        now = await self._power(host, c.uuid)
        self._update(c.uuid, host, RESCUED, "", now, Event.RESCUE)
        return Result()

    async def _unrescue(self, host: str, c: ac.Unrescue) -> Result:
        self._need("operation.rescue")
        assert isinstance(self._driver, drv.Rescuable)
        before = await self._power(host, c.uuid)
        self._update(c.uuid, host, RESCUED, "unrescuing", before)
        try:
            await self._driver.unrescue(host, c.uuid)
        except DriverError as exc:
            now = await self._power(host, c.uuid)
            self._update(c.uuid, host, VmState.ERROR, "", now, Event.UNRESCUE, exc)
            return Result(exc)
        now = await self._power(host, c.uuid)
        self._update(c.uuid, host, VmState.ACTIVE, "", now, Event.UNRESCUE)
        return Result()

    async def _set_password(self, host: str, c: ac.SetAdminPassword) -> Result:
        self._need("operation.set-admin-password")
        assert isinstance(self._driver, drv.AdminPasswordSettable)
        try:
            await self._driver.set_admin_password(host, c.uuid, c.password)
        except DriverError as exc:
            # Nova: the instance stays ACTIVE; only the task ends, with a fault.
            now = await self._power(host, c.uuid)
            self._update(c.uuid, host, VmState.ACTIVE, "", now, Event.SET_PASSWORD, exc)
            return Result(exc)
        now = await self._power(host, c.uuid)
        self._update(c.uuid, host, VmState.ACTIVE, "", now, Event.SET_PASSWORD)
        return Result()

    # ---- snapshots ----------------------------------------------------------------------

    async def _snapshot(self, host: str, c: ac.Snapshot) -> Result:
        self._need("operation.snapshot")
        assert isinstance(self._driver, drv.Snapshottable)
        event = Event.BACKUP if c.image_type == "backup" else Event.SNAPSHOT
        power = await self._power(host, c.uuid)
        vm_state = states.vm_state_for(power)
        # Nova's task states of a snapshot after the API's image_snapshot/image_backup.
        self._update(c.uuid, host, vm_state, "image_pending_upload", power)
        self._update(c.uuid, host, vm_state, "image_uploading", power)
        try:
            await self._driver.snapshot(host, c.uuid, c.image_id)
        except DriverError as exc:
            self._update(c.uuid, host, vm_state, "", power, event, exc)
            return Result(exc)
        self._update(c.uuid, host, vm_state, "", await self._power(host, c.uuid), event)
        return Result(data={"image_id": c.image_id})

    # ---- shelve offload, unshelve -----------------------------------------------------

    async def _shelve_offload(self, host: str, c: ac.ShelveOffload) -> Result:
        try:
            await self._driver.destroy(host, c.uuid)
        except DriverError as exc:
            now = await self._power(host, c.uuid)
            self._update(c.uuid, host, SHELVED, "", now, Event.SHELVE_OFFLOAD, exc)
            return Result(exc)
        if self._tracker.release(c.uuid) is not None:
            self._sink.host_resources(self._tracker.report(host))
        # The router finishes the offload (vm_state, host and allocation together).
        self._update(
            c.uuid, "", SHELVED, "shelving_offloading", PowerState.NOSTATE, Event.SHELVE_OFFLOAD
        )
        return Result()

    async def _unshelve(self, host: str, c: ac.Unshelve) -> Result:
        inst = c.instance
        try:
            self._tracker.claim(host, inst)
        except DriverError as exc:
            return Result(exc)
        self._sink.host_resources(self._tracker.report(host))
        self._update(inst.uuid, host, SHELVED_OFFLOADED, "spawning", PowerState.NOSTATE)
        try:
            interfaces = await self._driver.spawn(host, inst)
            info = await self._driver.get_info(host, inst.uuid)
        except DriverError as exc:
            await self._driver.destroy(host, inst.uuid)
            if self._tracker.release(inst.uuid) is not None:
                self._sink.host_resources(self._tracker.report(host))
            self._update(
                inst.uuid, "", SHELVED_OFFLOADED, "", PowerState.NOSTATE, Event.UNSHELVE, exc
            )
            return Result(exc)
        self._sink.instance_update(
            StateUpdate(
                uuid=inst.uuid,
                host=host,
                vm_state=VmState.ACTIVE,
                task_state="",
                power_state=info.power_state,
                event=Event.UNSHELVE,
                event_result=states.SUCCESS,
                interfaces=tuple(interfaces),
            )
        )
        return Result()

    # ---- rebuild ------------------------------------------------------------------------

    async def _rebuild(self, host: str, c: ac.Rebuild) -> Result:
        """Nova's default rebuild: destroy, then spawn from the (new) image on this host. The
        host keeps the instance's resources (same flavor), so nothing is claimed again."""
        inst = c.instance
        if c.on_new_host:
            # Whatever this agent still counted for the guest elsewhere (its old host is
            # down) moves here.
            old = self._tracker.release(inst.uuid)
            try:
                self._tracker.claim(host, inst)
            except DriverError as exc:
                return Result(exc)
            for h in {host, old or host}:
                self._sink.host_resources(self._tracker.report(h))
        before = await self._power(host, inst.uuid)
        vm_state = states.vm_state_for(before) if before else VmState.ERROR
        self._update(inst.uuid, host, vm_state, "rebuilding", before)
        try:
            await self._driver.destroy(host, inst.uuid)
            self._update(inst.uuid, host, vm_state, "rebuild_block_device_mapping", before)
            self._update(inst.uuid, host, vm_state, "rebuild_spawning", PowerState.NOSTATE)
            interfaces = await self._driver.spawn(host, inst)
            if not c.power_on:
                await self._driver.power_off(host, inst.uuid)
            info = await self._driver.get_info(host, inst.uuid)
        except DriverError as exc:
            now = await self._power(host, inst.uuid)
            self._update(inst.uuid, host, VmState.ERROR, "", now, Event.REBUILD, exc)
            return Result(exc)
        self._sink.instance_update(
            StateUpdate(
                uuid=inst.uuid,
                host=host,
                vm_state=VmState.ACTIVE if c.power_on else VmState.STOPPED,
                task_state="",
                power_state=info.power_state,
                event=Event.REBUILD,
                event_result=states.SUCCESS,
                interfaces=tuple(interfaces),
            )
        )
        return Result()

    # ---- helpers ----------------------------------------------------------------------

    def _need(self, capability: str) -> None:
        if not drv.supports(self._driver, capability):
            raise NotSupported(f"the {self._driver.name} driver does not support {capability}")

    def _resizer(self) -> drv.Resizable:
        assert isinstance(self._driver, drv.Resizable)
        return self._driver

    async def _power(self, host: str, uuid: str) -> PowerState:
        try:
            return (await self._driver.get_info(host, uuid)).power_state
        except DriverError:
            return PowerState.NOSTATE

    def _update(
        self,
        uuid: str,
        host: str,
        vm_state: str,
        task_state: str,
        power: PowerState,
        event: str = "",
        error: DriverError | None = None,
    ) -> None:
        self._sink.instance_update(
            StateUpdate(
                uuid=uuid,
                host=host,
                vm_state=vm_state,
                task_state=task_state,
                power_state=power,
                event=event,
                event_result=(states.ERROR if error else states.SUCCESS) if event else "",
                fault_message=str(error) if error else "",
            )
        )


def _tail(text: str, length: int) -> str:
    if length <= 0:
        return text
    lines = text.splitlines(keepends=True)
    return "".join(lines[-length:])
