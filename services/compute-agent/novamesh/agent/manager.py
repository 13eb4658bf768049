"""The compute manager: runs commands through the driver and reports every transition.

Each command runs once per command id (see ledger). Builds claim resources first (a host that
cannot hold the guest refuses with a retryable error, so the router reschedules), then walk the
task states Nova walks: networking, block_device_mapping, spawning, then ACTIVE. Power actions
take the instance's lock so two actions on one guest never interleave; a terminate does not wait
for a build in progress, it cancels it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

from novamesh.agent import action_commands as ac
from novamesh.agent import device_commands as dc
from novamesh.agent import host_event_commands as he
from novamesh.agent import states
from novamesh.agent.commands import Build, Command, Power, PowerKind, Sink, StateUpdate, Terminate
from novamesh.agent.devices import DeviceRunner
from novamesh.agent.host_events import HostEventRunner
from novamesh.agent.ledger import CommandLedger, Outcome
from novamesh.agent.operations import ActionRunner
from novamesh.agent.resources import HostReport, ResourceTracker
from novamesh.agent.states import Event, PowerState, TaskState, VmState
from novamesh.agent.virt.driver import Driver, supports
from novamesh.agent.virt.model import DriverError, InstanceNotFound, NotSupported
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

LOG = logging.getLogger(__name__)
_TRACER = trace.get_tracer("novamesh.agent")


@dataclass(frozen=True)
class _PowerStep:
    task_state: str
    capability: str
    method: str
    vm_state: str
    event: str


_POWER_STEPS: dict[PowerKind, _PowerStep] = {
    PowerKind.STOP: _PowerStep(
        TaskState.POWERING_OFF, "", "power_off", VmState.STOPPED, Event.STOP
    ),
    PowerKind.START: _PowerStep(TaskState.POWERING_ON, "", "power_on", VmState.ACTIVE, Event.START),
    PowerKind.REBOOT_SOFT: _PowerStep(
        TaskState.REBOOT_STARTED, "", "reboot", VmState.ACTIVE, Event.REBOOT
    ),
    PowerKind.REBOOT_HARD: _PowerStep(
        TaskState.REBOOT_STARTED_HARD, "", "reboot", VmState.ACTIVE, Event.REBOOT
    ),
    PowerKind.PAUSE: _PowerStep(
        TaskState.PAUSING, "operation.pause", "pause", VmState.PAUSED, Event.PAUSE
    ),
    PowerKind.UNPAUSE: _PowerStep(
        TaskState.UNPAUSING, "operation.unpause", "unpause", VmState.ACTIVE, Event.UNPAUSE
    ),
    PowerKind.SUSPEND: _PowerStep(
        TaskState.SUSPENDING, "operation.suspend", "suspend", VmState.SUSPENDED, Event.SUSPEND
    ),
    PowerKind.RESUME: _PowerStep(
        TaskState.RESUMING, "operation.resume", "resume", VmState.ACTIVE, Event.RESUME
    ),
}


class _BuildCancelled(Exception):
    pass


class ComputeManager:
    def __init__(
        self, driver: Driver, tracker: ResourceTracker, ledger: CommandLedger, sink: Sink
    ) -> None:
        self.driver = driver
        self.tracker = tracker
        self._ledger = ledger
        self._sink = sink
        # Per instance: its lock and how many tasks hold or wait for it.
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        # Builds in progress; a terminate adds the uuid to _cancelled to stop one.
        self._building: set[str] = set()
        self._cancelled: set[str] = set()
        # Instances a command is working on now (how many commands).
        self._busy: dict[str, int] = {}
        self._actions = ActionRunner(driver, tracker, sink, self._lock)
        self._devices = DeviceRunner(driver, self._lock)
        self._host_events = HostEventRunner(driver, tracker, sink, self._lock)
        # Data a finished action answers with, by id() of its command, until reported.
        self._answers: dict[int, dict[str, str]] = {}

    async def start(self) -> None:
        await self.driver.init_host()
        for host in self.driver.list_hosts():
            self.tracker.recover(list(await self.driver.list_instances(host)))
        # Drivers that see guests change on their own (libvirt's lifecycle events) say so.
        watch = getattr(self.driver, "watch_power_states", None)
        if watch is not None:
            watch(self._power_changed)

    def _power_changed(self, host: str, uuid: str, power: PowerState) -> None:
        """A guest's power state changed outside any task (it shut itself down, crashed...)."""
        if uuid in self._busy or uuid in self._building or power is PowerState.NOSTATE:
            return
        if self.tracker.disowned(host, uuid):
            # Evacuated away: the instance is its new host's to report, not this copy's.
            return
        # As Nova's power-state sync: a guest that stopped by itself is STOPPED; otherwise
        # only the power state changes (vm_state "" leaves it as it is).
        stopped = power in (PowerState.SHUTDOWN, PowerState.CRASHED)
        self._sink.instance_update(
            StateUpdate(uuid, host, VmState.STOPPED if stopped else "", TaskState.NONE, power)
        )

    def host_reports(self) -> list[HostReport]:
        return [self.tracker.report(h) for h in self.driver.list_hosts()]

    async def handle(
        self,
        command_id: str,
        host: str,
        command: Command,
        parent: otel_context.Context | None = None,
    ) -> None:
        """Run a command once; a repeat of a finished one gets its earlier result again."""
        span_name, uuid, work = self._plan(host, command)
        with _TRACER.start_as_current_span(span_name, context=parent) as span:
            span.set_attribute("command_id", command_id)
            span.set_attribute("instance_uuid", uuid)
            span.set_attribute("host", host)
            earlier = self._ledger.get(command_id)
            if earlier is not None:
                self._sink.command_result(earlier)
                return
            if not self._ledger.begin(command_id):
                return
            # While a command works on a guest, its power changes are the command's to report.
            self._busy[uuid] = self._busy.get(uuid, 0) + 1
            try:
                error = await work()
            except Exception as exc:
                LOG.exception("command %s failed unexpectedly", command_id)
                error = DriverError(f"unexpected agent error: {exc}")
            finally:
                self._busy[uuid] -= 1
                if not self._busy[uuid]:
                    del self._busy[uuid]
            data = self._answers.pop(id(command), {})
            outcome = Outcome(
                command_id=command_id,
                instance_uuid=uuid,
                ok=error is None,
                error=str(error) if error else "",
                retryable=bool(error and error.retryable),
                data=data,
            )
            if error is not None:
                span.set_status(Status(StatusCode.ERROR, outcome.error))
            self._ledger.finish(outcome)
            self._sink.command_result(outcome)

    def _plan(
        self, host: str, command: Command
    ) -> tuple[str, str, Callable[[], Awaitable[DriverError | None]]]:
        match command:
            case Build():
                return (
                    "agent.build_and_run",
                    command.instance.uuid,
                    partial(self._build, host, command),
                )
            case Terminate():
                return "agent.terminate", command.uuid, partial(self._terminate, host, command.uuid)
            case Power():
                return (
                    f"agent.power.{command.kind.value}",
                    command.uuid,
                    partial(self._power, host, command.uuid, command.kind),
                )
            case (
                dc.GetDiagnostics()
                | dc.GetConsole()
                | dc.AttachInterface()
                | dc.DetachInterface()
                | dc.AttachVolume()
                | dc.DetachVolume()
                | dc.SwapVolume()
                | dc.GetHostUptime()
            ):
                return (
                    self._devices.span_name(command),
                    command.uuid,
                    partial(self._device, host, command),
                )
            case (
                he.PowerUpdate() | he.ExtendVolume() | he.DestroyEvacuated() | he.ForgetEvacuated()
            ):
                return (
                    self._host_events.span_name(command),
                    command.uuid,
                    partial(self._host_events.run, host, command),
                )
            case _:
                return (
                    self._actions.span_name(command),
                    ac.instance_uuid(command),
                    partial(self._action, host, command),
                )

    async def _device(self, host: str, command: dc.DeviceCommand) -> DriverError | None:
        result = await self._devices.run(host, command)
        if result.data:
            self._answers[id(command)] = result.data
        return result.error

    async def _action(self, host: str, command: ac.ActionCommand) -> DriverError | None:
        result = await self._actions.run(host, command)
        if result.data:
            self._answers[id(command)] = result.data
        return result.error

    # ---- build ----------------------------------------------------------------------------

    async def _build(self, host: str, build: Build) -> DriverError | None:
        inst = build.instance
        uuid = inst.uuid
        async with self._lock(uuid):
            self._building.add(uuid)
            self._cancelled.discard(uuid)
            try:
                return await self._build_locked(host, build)
            finally:
                self._building.discard(uuid)
                self._cancelled.discard(uuid)

    async def _build_locked(self, host: str, build: Build) -> DriverError | None:
        inst = build.instance
        uuid = inst.uuid
        try:
            self.tracker.claim(host, inst)
        except DriverError as exc:
            self._build_failed(host, uuid, exc)
            return exc
        self._sink.host_resources(self.tracker.report(host))
        try:
            for task in (TaskState.NETWORKING, TaskState.BLOCK_DEVICE_MAPPING, TaskState.SPAWNING):
                self._check_cancelled(uuid)
                self._in_task(uuid, host, VmState.BUILDING, task, PowerState.NOSTATE)
            with _TRACER.start_as_current_span("driver.spawn"):
                interfaces = await self.driver.spawn(host, inst)
            self._check_cancelled(uuid)
            info = await self.driver.get_info(host, uuid)
        except (_BuildCancelled, InstanceNotFound) as exc:
            if uuid in self._cancelled:
                # The terminate that cancelled us reports the instance; nothing more to say.
                return DriverError(f"instance {uuid} was deleted during its build")
            return await self._undo_build(host, uuid, exc)
        except DriverError as exc:
            return await self._undo_build(host, uuid, exc)
        except Exception as exc:
            # As in Nova, a failure nobody foresaw is worth trying on another host.
            LOG.exception("spawn of %s on %s failed", uuid, host)
            error = DriverError(f"Build of instance {uuid} failed: {exc}", retryable=True)
            return await self._undo_build(host, uuid, error)
        self._sink.instance_update(
            StateUpdate(
                uuid=uuid,
                host=host,
                vm_state=VmState.ACTIVE,
                task_state=TaskState.NONE,
                power_state=info.power_state,
                launched_at=dt.datetime.now(dt.UTC),
                event=Event.BUILD,
                event_result=states.SUCCESS,
                interfaces=tuple(interfaces),
            )
        )
        return None

    def _check_cancelled(self, uuid: str) -> None:
        if uuid in self._cancelled:
            raise _BuildCancelled(uuid)

    async def _undo_build(self, host: str, uuid: str, exc: Exception) -> DriverError:
        error = exc if isinstance(exc, DriverError) else DriverError(str(exc))
        # The guest may be half made; destroy is idempotent, so the next host starts clean.
        try:
            await self.driver.destroy(host, uuid)
        except DriverError as cleanup_error:
            LOG.warning("could not clean up failed build of %s: %s", uuid, cleanup_error)
        if self.tracker.release(uuid) is not None:
            self._sink.host_resources(self.tracker.report(host))
        self._build_failed(host, uuid, error)
        return error

    def _build_failed(self, host: str, uuid: str, error: DriverError) -> None:
        # A retryable failure goes back to the conductor for a reschedule (Nova: task_state
        # scheduling); anything else leaves the instance in ERROR.
        vm_state, task = (
            (VmState.BUILDING, TaskState.SCHEDULING)
            if error.retryable
            else (VmState.ERROR, TaskState.NONE)
        )
        self._sink.instance_update(
            StateUpdate(
                uuid=uuid,
                host=host,
                vm_state=vm_state,
                task_state=task,
                power_state=PowerState.NOSTATE,
                event=Event.BUILD,
                event_result=states.ERROR,
                fault_message=str(error),
            )
        )

    # ---- terminate ------------------------------------------------------------------------

    async def _terminate(self, host: str, uuid: str) -> DriverError | None:
        if uuid in self._building:
            self._cancelled.add(uuid)
        await self._actions.stop_live_migration(host, uuid)
        with _TRACER.start_as_current_span("driver.destroy"):
            try:
                await self.driver.destroy(host, uuid)
            except DriverError as exc:
                self._settled(uuid, host, VmState.ERROR, PowerState.NOSTATE, Event.TERMINATE, exc)
                return exc
        if self.tracker.release(uuid) is not None:
            self._sink.host_resources(self.tracker.report(host))
        self._settled(uuid, host, VmState.DELETED, PowerState.NOSTATE, Event.TERMINATE)
        return None

    # ---- power actions --------------------------------------------------------------------

    async def _power(self, host: str, uuid: str, kind: PowerKind) -> DriverError | None:
        step = _POWER_STEPS[kind]
        async with self._lock(uuid):
            try:
                before = await self.driver.get_info(host, uuid)
            except DriverError as exc:
                self._settled(uuid, host, VmState.ERROR, PowerState.NOSTATE, step.event, exc)
                return exc
            vm_state = states.vm_state_for(before.power_state)
            self._in_task(uuid, host, vm_state, step.task_state, before.power_state)
            try:
                if step.capability and not supports(self.driver, step.capability):
                    raise NotSupported(
                        f"the {self.driver.name} driver does not support {kind.value}"
                    )
                with _TRACER.start_as_current_span(f"driver.{step.method}"):
                    await self._call_power(host, uuid, kind, step.method)
                after = await self.driver.get_info(host, uuid)
            except DriverError as exc:
                now = await self._power_state_or_nostate(host, uuid)
                self._settled(uuid, host, states.vm_state_for(now), now, step.event, exc)
                return exc
            self._settled(uuid, host, step.vm_state, after.power_state, step.event)
            return None

    async def _call_power(self, host: str, uuid: str, kind: PowerKind, method: str) -> None:
        if kind in (PowerKind.REBOOT_SOFT, PowerKind.REBOOT_HARD):
            await self.driver.reboot(host, uuid, hard=kind is PowerKind.REBOOT_HARD)
            return
        call: Callable[[str, str], Awaitable[None]] = getattr(self.driver, method)
        await call(host, uuid)

    async def _power_state_or_nostate(self, host: str, uuid: str) -> PowerState:
        try:
            return (await self.driver.get_info(host, uuid)).power_state
        except DriverError:
            return PowerState.NOSTATE

    # ---- helpers --------------------------------------------------------------------------

    def _in_task(
        self, uuid: str, host: str, vm_state: str, task_state: str, power: PowerState
    ) -> None:
        self._sink.instance_update(StateUpdate(uuid, host, vm_state, task_state, power))

    def _settled(
        self,
        uuid: str,
        host: str,
        vm_state: str,
        power: PowerState,
        event: str,
        error: DriverError | None = None,
    ) -> None:
        """The end of a task: no task state, and the instance-action event's result."""
        self._sink.instance_update(
            StateUpdate(
                uuid=uuid,
                host=host,
                vm_state=vm_state,
                task_state=TaskState.NONE,
                power_state=power,
                event=event,
                event_result=states.ERROR if error else states.SUCCESS,
                fault_message=str(error) if error else "",
            )
        )

    @asynccontextmanager
    async def _lock(self, uuid: str) -> AsyncIterator[None]:
        lock, users = self._locks.setdefault(uuid, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._locks[uuid]
